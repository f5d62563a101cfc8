import Foundation
import Testing
import TestSupport

/// `warden policy learn`: a policy written from a known-good attestation, which the
/// operator reviews and applies, and which then holds another attestation to those values.
@Suite struct PolicyLearnTests {
    @Test func aLearnedPolicyHoldsPCRsZeroToSevenOfTheAttestation() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        try rig.enroll(tpm, as: "node-1")
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("first").path]))
        let learned = rig.file("learned.yaml")
        try rig.expectSuccess(
            rig.server.cli(["policy", "learn", "rack-a", "--machine", "node-1", "--out", learned.path]))
        let yaml = try String(contentsOf: learned, encoding: .utf8)
        #expect(yaml.contains("\nname: rack-a\n") && yaml.contains("  sha256:\n"), "\(yaml)")
        for pcr in 0...7 { #expect(yaml.contains("    \(pcr): [\""), "PCR \(pcr) missing") }
        #expect(!yaml.contains("    8: [") && !yaml.contains("    12: ["), "only PCRs 0-7 are learned")
        let quoted = try tpm.run("tpm2_pcrread", ["sha256:0"]).stdout.lowercased()
        let pcr0 = try #require(
            yaml.split(separator: "\n").first { $0.hasPrefix("    0: [") }?.split(separator: "\"").dropFirst().first)
        #expect(quoted.contains(String(pcr0)), "PCR 0 is the TPM's own value")

        try rig.expectSuccess(rig.server.cli(["policy", "apply", learned.path]))
        let other = try SoftwareTPM()
        try rig.enroll(other, as: "node-2", extra: ["--policy", "rack-a"])
        try rig.expectSuccess(rig.server.agent("attest", tcti: other.tcti, ["--out", rig.file("second").path]))
        try other.run("tpm2_pcrextend", ["4:sha256=" + String(repeating: "ab", count: 32)])
        let refused = try rig.server.agent("attest", tcti: other.tcti, ["--out", rig.file("third").path])
        #expect(refused.status != 0 && refused.stderr.contains("PCR 4"), "\(refused.stderr)")

        let missing = try rig.server.cli([
            "policy", "learn", "rack-a", "--machine", "node-1", "--from-attestation", "999999",
        ])
        #expect(missing.status == 1 && missing.stderr.contains("not found"))
    }
}
