import Foundation
import Testing
import TestSupport

/// The rack in a box (`Tests/Lab/lab.sh`, what `make lab` runs): QEMU machines network-boot
/// through Warden in namespaces of the lab's own, held by a policy that follows their image
/// (which changes between the two boots). Each scenario's line in the summary must say it
/// behaved.
@Suite(.serialized) struct LabTests {
    @Test func machinesBootAttestAndUnlockThroughWarden() async throws {
        let out = try TestPaths.temporaryDirectory("lab")
        let namespacesBefore = try Command.run("ip", ["netns", "list"]).stdout
        let lab = try await offPool {
            try Command.run(
                "/usr/bin/timeout",
                ["1500", "bash", TestPaths.packageRoot.appendingPathComponent("Tests/Lab/lab.sh").path, out.path],
                environment: ["WARDEN": TestPaths.wardenBinary.path])
        }
        let summary = (try? String(contentsOf: out.appendingPathComponent("summary.txt"), encoding: .utf8)) ?? ""
        let lines = Dictionary(
            summary.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }, uniquingKeysWith: { $1 })
        #expect(lab.status == 0, "lab.sh exited \(lab.status): \(lab.stdout.suffix(3_000))\(lab.stderr.suffix(2_000))")
        for round in [1, 2] {
            #expect(
                lines["node-1 boot \(round)"]?.hasPrefix("success") == true,
                "boot \(round): \(lines["node-1 boot \(round)"] ?? "missing")")
        }
        #expect(lines["releases to node-1"] == "2 passing attestations")
        #expect(
            lines["unenrolled machine"]?.hasPrefix("recorded as discovered") == true,
            "\(lines["unenrolled machine"] ?? "missing")")
        #expect(
            lines["adopted machine"]?.hasPrefix("node-2 attested and unlocked") == true,
            "\(lines["adopted machine"] ?? "missing")")
        #expect(
            lines["learned policy"]?.hasPrefix("PCRs 0-3 and 5-7 pinned") == true,
            "\(lines["learned policy"] ?? "missing")")
        #expect(
            lines["another kernel"]?.contains("refused at attestation: PCR 4 event") == true,
            "\(lines["another kernel"] ?? "missing")")
        #expect(
            lines["legacy BIOS"]?.hasPrefix("booted kernel and initrd") == true, "\(lines["legacy BIOS"] ?? "missing")")
        #expect(
            try Command.run("ip", ["netns", "list"]).stdout == namespacesBefore,
            "the lab left a network namespace behind")
    }
}
