import Foundation
import Testing
import TestSupport

/// The labs (`Tests/Lab/`, what `make lab` and `make lab-ha` run): QEMU machines
/// network-boot through Warden in namespaces of the lab's own. Each step's line in a lab's
/// summary must say it behaved. The two run at once: each keeps about one core busy (one
/// TCG machine at a time), their namespaces, addresses and work folders are their own, and
/// outside the suite they took 753 s one after the other and 656 s side by side.
@Suite struct LabTests {
    /// Runs `Tests/Lab/SCRIPT` and returns its exit status and its summary's lines by step;
    /// the lab must leave none of the network namespaces it made (OUT/namespaces.txt) behind.
    private func runLab(_ script: String) async throws -> (status: Int32, output: String, lines: [String: String]) {
        let out = try TestPaths.temporaryDirectory("lab")
        let lab = try await offPool {
            try Command.run(
                "/usr/bin/timeout",
                ["1500", "bash", TestPaths.packageRoot.appendingPathComponent("Tests/Lab/\(script)").path, out.path],
                environment: ["WARDEN": TestPaths.wardenBinary.path, "WARDEN_BENCH": TestPaths.benchBinary.path])
        }
        let written = { (name: String) in
            (try? String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)) ?? ""
        }
        let summary = written("summary.txt")
        let lines = Dictionary(
            summary.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }, uniquingKeysWith: { $1 })
        let made = written("namespaces.txt").split(separator: "\n").map(String.init)
        if lab.status == 0 { #expect(!made.isEmpty, "\(script) named no namespace it made") }
        let left = Set(
            try Command.run("ip", ["netns", "list"]).stdout.split(separator: "\n").compactMap {
                $0.split(separator: " ").first.map(String.init)
            })
        #expect(left.isDisjoint(with: made), "\(script) left a network namespace behind")
        return (lab.status, "\(lab.stdout.suffix(3_000))\(lab.stderr.suffix(2_000))", lines)
    }

    /// The rack in a box: a machine enforcing Secure Boot under the rack's keys, held by a
    /// policy that follows its image (which changes between the two boots) and predicts its
    /// PCR 7, a machine nobody enrolled, Secure Boot off under a policy that requires it,
    /// Debian's unsigned iPXE, another kernel, a legacy BIOS, and a machine in setup mode
    /// enrolled with the rack's keys from the network.
    @Test func machinesBootAttestAndUnlockThroughWarden() async throws {
        let (status, output, lines) = try await runLab("lab.sh")
        #expect(status == 0, "lab.sh exited \(status): \(output)")
        for round in [1, 2] {
            let line = lines["node-1 boot \(round)"] ?? "missing"
            #expect(line.hasPrefix("success") && line.hasSuffix("Secure Boot on"), "boot \(round): \(line)")
        }
        #expect(lines["releases to node-1"] == "2 passing attestations")
        #expect(
            lines["Secure Boot off"]?.hasSuffix("the measured boot shows Secure Boot disabled") == true,
            "\(lines["Secure Boot off"] ?? "missing")")
        #expect(
            lines["another kernel"]?.contains("refused at attestation: PCR 4 event") == true,
            "\(lines["another kernel"] ?? "missing")")
        let beginnings = [
            "unsigned iPXE": "the firmware refused it", "boot times": "to an unlocked disk",
            "an unsigned UKI": "refused by the firmware",
            "a UKI signed by another rack's db key": "refused by the firmware",
            "Secure Boot enrolment": "node-3 in setup mode was sent the rack's keys",
            "enrolled machine": "node-3 attested with Secure Boot on", "unenrolled machine": "recorded as discovered",
            "adopted machine": "node-2 attested and unlocked", "learned policy": "PCRs 0-3 and 5-7 pinned",
            "legacy BIOS": "booted kernel and initrd",
        ]
        for (step, beginning) in beginnings.sorted(by: { $0.key < $1.key }) {
            #expect(lines[step]?.hasPrefix(beginning) == true, "\(step): \(lines[step] ?? "missing")")
        }
    }

    /// No single point of failure: two appliances on a PostgreSQL primary with a synchronous
    /// standby; node-1 unlocks with both up and again, through B, with A killed; under a
    /// stream of attestations the primary is killed and the standby promoted, and both
    /// appliances carry on, losing no acknowledged release, in one verifying audit chain.
    @Test func appliancesAndTheDatabaseFailOver() async throws {
        let (status, output, lines) = try await runLab("lab-ha.sh")
        #expect(status == 0, "lab-ha.sh exited \(status): \(output)")
        #expect(
            lines["database"]?.contains("synchronous streaming standby") == true, "\(lines["database"] ?? "missing")")
        #expect(
            lines["both appliances"]?.hasPrefix("node-1 unlocked") == true, "\(lines["both appliances"] ?? "missing")")
        let withoutA = lines["appliance A killed"] ?? "missing"
        #expect(
            withoutA.hasPrefix("node-1 unlocked") && withoutA.contains("boot script from lab-b,")
                && withoutA.hasSuffix("release by lab-b"), "\(withoutA)")
        let impostor = lines["removed appliance refused"] ?? "missing"
        #expect(impostor.hasSuffix("refused, went on to lab-b"), "\(impostor)")
        let window = lines["fail-over window"] ?? "missing"
        #expect(window.hasSuffix("all 503"), "\(window)")
        #expect(
            lines["appliances reconnected"]?.contains("without a restart") == true,
            "\(lines["appliances reconnected"] ?? "missing")")
        #expect(
            lines["acknowledged releases"]?.hasPrefix("all ") == true, "\(lines["acknowledged releases"] ?? "missing")")
        let chain = lines["audit chain"] ?? "missing"
        #expect(
            chain.hasPrefix("verified end to end") && chain.contains("by lab-a") && chain.contains("by lab-b"),
            "\(chain)")
    }
}
