import Foundation
import Testing
import TestSupport

/// The adversarial suite's quick form (`Tests/Adversary/adversary.py --quick`; `make
/// adversary` runs it at full scale): every attack of a hostile boot network against a real
/// `warden serve` on loopback, each held to the same ceilings. Each attack's line in the
/// summary must say it stayed within them.
@Suite(.serialized) struct AdversaryTests {
    static let attacks = [
        "dhcp-poison", "tls-silent", "held-bodies", "nonce-starvation", "database-flood", "tftp-slots", "http-slowloris", "legacy-forgery",
        "discovery-flood", "export-stall", "operator-lockout",
    ]

    @Test func everyAttackStaysWithinItsCeilings() async throws {
        let out = try TestPaths.temporaryDirectory("adversary")
        let suite = try await offPool {
            try Command.run("/usr/bin/timeout", [
                "900", "python3", TestPaths.packageRoot.appendingPathComponent("Tests/Adversary/adversary.py").path, "--quick",
                "--warden", TestPaths.wardenBinary.path, "--agent", TestPaths.agentBinary.path, "--out", out.path,
            ])
        }
        let summary = (try? String(contentsOf: out.appendingPathComponent("summary.txt"), encoding: .utf8)) ?? ""
        #expect(suite.status == 0, "adversary.py exited \(suite.status): \(suite.stdout.suffix(4_000))\(suite.stderr.suffix(2_000))")
        let lines = summary.split(separator: "\n").dropFirst()
        for attack in Self.attacks {
            let line = lines.first { $0.hasPrefix(attack + " ") }
            #expect(line?.contains(" PASS | ") == true, "\(attack): \(line ?? "missing")")
        }
    }
}
