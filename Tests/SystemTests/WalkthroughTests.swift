import Foundation
import Testing
import TestSupport

/// The README's operator walk-through, run as written: the shell blocks marked
/// `<!-- walkthrough -->` in README.md, in order, in an empty folder outside the checkout,
/// with the built `warden` and `warden-agent` first on the PATH.
@Suite struct WalkthroughTests {
    /// The marked blocks' lines, in order.
    static func blocks(of readme: String) -> [String] {
        var blocks: [String] = []
        var lines = readme.split(separator: "\n", omittingEmptySubsequences: false).makeIterator()
        while let line = lines.next() {
            guard line == "<!-- walkthrough -->", lines.next() == "```sh" else { continue }
            var block: [Substring] = []
            while let next = lines.next(), next != "```" { block.append(next) }
            blocks.append(block.joined(separator: "\n"))
        }
        return blocks
    }

    @Test func theReadmesWalkthroughRunsAsWritten() throws {
        let readme = try String(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = Self.blocks(of: readme)
        #expect(blocks.count >= 6, "the README marks its walk-through's blocks")
        let folder = try TestPaths.temporaryDirectory("walkthrough")
        let script = folder.appendingPathComponent("walkthrough.sh")
        try Data(("set -euo pipefail\n" + blocks.joined(separator: "\n")).utf8).write(to: script)
        let binaries = TestPaths.wardenBinary.deletingLastPathComponent().path
        let output = folder.appendingPathComponent("output.log")
        // In a process group of its own, so that whatever it leaves running is stopped by that id.
        let run = try Command.start(
            "setsid", ["bash", script.path], in: folder,
            environment: [
                "PATH": binaries + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
                "HOME": folder.path, "WARDEN_CLIENT_CONFIG": folder.appendingPathComponent("client.yaml").path,
            ], log: output)
        let deadline = Date().addingTimeInterval(300)
        while run.isRunning && Date() < deadline { usleep(100_000) }
        let finished = !run.isRunning
        kill(-run.processIdentifier, SIGKILL)
        run.waitUntilExit()
        let log = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(finished && run.terminationStatus == 0, "\(log.suffix(3_000))")
        #expect(log.contains("policy node-1") || log.contains("node-1@"), "\(log.suffix(2_000))")
        #expect(log.contains("refused") && log.contains("PCR 4"), "the refusal names the PCR")
        #expect(log.contains("result: everything holds"), "\(log.suffix(2_000))")
    }
}
