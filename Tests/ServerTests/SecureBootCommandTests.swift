import Foundation
import Server
import Testing
import TestSupport

/// `warden secureboot init|show` as an operator runs them on an appliance's state folder.
@Suite struct SecureBootCommandTests {
    func warden(_ arguments: [String]) throws -> CommandResult {
        try Command.run(TestPaths.wardenBinary.path, arguments)
    }

    @Test func initCreatesTheKeysOnceAndShowListsTheirFingerprints() throws {
        let state = try TestPaths.temporaryDirectory("secureboot-cli").appendingPathComponent(".warden").path
        #expect(try warden(["secureboot", "show", "--state-dir", state]).status != 0, "no state folder yet")
        // A state folder as `warden serve` leaves it.
        _ = try StateFolder.initialise(at: state)
        let none = try warden(["secureboot", "show", "--state-dir", state])
        #expect(none.status != 0 && none.stderr.contains("secureboot init"), "\(none.stderr)")

        let offline = try warden(["secureboot", "init", "--state-dir", state, "--offline-pk"])
        #expect(offline.status != 0 && offline.stderr.contains("--pk-cert"), "\(offline.stderr)")
        let created = try warden(["secureboot", "init", "--state-dir", state])
        #expect(created.status == 0, "\(created.stderr)")
        let lines = created.stdout.split(separator: "\n")
        #expect(lines.map { $0.split(separator: "\t").first ?? "" } == ["PK", "KEK", "db"])

        let shown = try warden(["secureboot", "show", "--state-dir", state, "-o", "json"])
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [[String: Any]], "\(shown.stdout)")
        #expect(entries.compactMap { $0["sha256"] as? String } == lines.map { String($0.split(separator: "\t")[1]) })
        #expect(entries.allSatisfy { $0["keyHeld"] as? Bool == true && $0["notAfter"] is String })

        let again = try warden(["secureboot", "init", "--state-dir", state])
        #expect(again.status != 0 && again.stderr.contains("never replaced"), "\(again.stderr)")
    }
}
