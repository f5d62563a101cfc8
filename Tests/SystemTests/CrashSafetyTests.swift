import Foundation
import Store
import Testing
import TestSupport

/// Kills `warden serve` with SIGKILL at random moments while operators enrol machines and
/// agents attest, restarts it, and checks that nothing it acknowledged is lost, that the
/// database is intact, and that every release has its audit record.
@Suite struct CrashSafetyTests {
    /// What the clients saw acknowledged during one round.
    final class Acknowledged: @unchecked Sendable {
        private let lock = NSLock()
        private var enrolled: [String] = []
        private var released: [String: Int] = [:]
        func enrolment(_ name: String) { lock.withLock { enrolled.append(name) } }
        func release(_ machine: String) { lock.withLock { released[machine, default: 0] += 1 } }
        var enrolments: [String] { lock.withLock { enrolled } }
        var releases: [String: Int] { lock.withLock { released } }
    }

    @Test func sigkillAtRandomMomentsLosesNothingCommitted() throws {
        let rig = try SystemRig()
        let machines = try (0..<3).map { index in
            let tpm = try SoftwareTPM()
            try rig.enroll(tpm, as: "node-\(index)")
            return (name: "node-\(index)", tpm: tpm)
        }
        let acknowledged = Acknowledged()
        var generator = SystemRandomNumberGenerator()
        // Six rounds killed at random moments; on a machine loaded by the rest of the suite an
        // attestation can outlast them all, so rounds go on, waiting longer, until one has
        // completed (at most six more).
        var round = 0
        while round < 6 || (acknowledged.releases.isEmpty && round < 12) {
            defer { round += 1 }
            let current = round
            let stream = DispatchGroup()
            for machine in machines {
                DispatchQueue.global().async(group: stream) {
                    for attempt in 0..<4 {
                        let out = rig.file("out-\(current)-\(machine.name)-\(attempt)")
                        if let result = try? rig.server.agent("attest", tcti: machine.tpm.tcti, ["--out", out.path]),
                            result.status == 0
                        {
                            acknowledged.release(machine.name)
                        }
                    }
                }
            }
            DispatchQueue.global().async(group: stream) {
                for index in 0..<6 {
                    let name = "extra-\(current)-\(index)"
                    let ek = rig.file("ek-\(name).pem")
                    guard
                        (try? Command.run(
                            "openssl",
                            [
                                "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                                ek.path + ".key",
                            ]))?.status == 0,
                        (try? Command.run("openssl", ["pkey", "-in", ek.path + ".key", "-pubout", "-out", ek.path]))?
                            .status == 0
                    else { continue }
                    if let result = try? rig.server.cli(["machine", "enroll", name, "--ek", ek.path]),
                        result.status == 0
                    {
                        acknowledged.enrolment(name)
                    }
                }
            }
            usleep(UInt32.random(in: current < 6 ? 150_000...900_000 : 1_000_000...3_000_000, using: &generator))
            rig.server.stop(signal: SIGKILL)
            stream.wait()
            try rig.server.restart()
        }
        #expect(
            acknowledged.releases.values.reduce(0, +) > 0,
            "no attestation completed between the kills: the test exercised nothing")
        #expect(try rig.store.integrityCheck() == "ok")
        let names = Set(try rig.store.machines().map(\.name))
        for name in acknowledged.enrolments { #expect(names.contains(name), "acknowledged enrolment \(name) was lost") }
        for (name, count) in acknowledged.releases {
            let id = try rig.store.machine(named: name).id
            let releases = try rig.audit(machine: id).filter { $0.action == "release" }.count
            #expect(releases >= count, "\(name): \(count) releases reached the agent, \(releases) are audited")
            #expect(
                try rig.store.attestations(machineID: id, limit: 1_000).filter(\.passed).count == releases,
                "a passing attestation without its release record")
        }
    }
}
