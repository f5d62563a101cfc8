import Foundation
import Testing
import TestSupport

/// warden-agent goes into a node's initramfs: it links neither the HTTP server nor the
/// database, nor full Foundation.
@Suite struct AgentFootprintTests {
    @Test func theAgentLinksNoServerNoDatabaseNoFoundation() throws {
        let agent = TestPaths.agentBinary.path
        let libraries = try Command.run("ldd", [agent]).stdout
        #expect(
            !libraries.contains("libsqlite3") && !libraries.contains("libFoundation.so")
                && !libraries.contains("libarchive"), "\(libraries)")
        #expect(libraries.contains("libtss2-esys"))
        let symbols = try Command.run("nm", ["--defined-only", agent]).stdout
        #expect(!symbols.isEmpty)
        for module in ["11Hummingbird", "4GRDB", "5Store", "6Server"] {
            #expect(!symbols.contains("$s\(module)"), "warden-agent carries \(module)")
        }
    }
}
