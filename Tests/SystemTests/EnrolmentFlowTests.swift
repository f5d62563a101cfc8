import Foundation
import Store
import Testing
import TestSupport
import WardenCrypto

/// The whole product on loopback: `warden serve`, the operator CLI, and `warden-agent`
/// talking to a real software TPM.
@Suite struct EnrolmentFlowTests {
    @Test func enrolAttestReleaseAgainThenAChangedPCRWaitsForApproval() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        let id = try rig.enroll(
            tpm, as: "node-1",
            extra: ["--cluster", "rack-a", "--role", "agent", "--mac", "52:54:00:12:34:56", "--label", "zone=a"])

        let first = try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("first").path])
        try rig.expectSuccess(first)
        let key = try TestPaths.bytes(rig.file("first/disk.key"))
        #expect(key.count == 32)
        #expect(
            Secret(bytes: key) == (try rig.store.releaseSecrets(machineID: id).diskKey),
            "the key written is not the machine's disk key")
        for name in ["disk.key", "k3s-config.yaml"] {
            #expect(
                try FileManager.default.attributesOfItem(atPath: rig.file("first/" + name).path)[.posixPermissions]
                    as? Int == 0o600)
        }
        let config = try String(contentsOf: rig.file("first/k3s-config.yaml"), encoding: .utf8)
        #expect(
            config.contains("server: \"https://10.0.0.1:6443\"") && config.contains("node-name: \"node-1\"")
                && config.contains("\"zone=a\""))
        // Booleans first: an expectation that failed on the strings would print the token.
        let hasAgentToken = config.contains("token: \"\(rig.agentToken)\"")
        let printedToken = first.stdout.contains(rig.agentToken) || first.stderr.contains(rig.agentToken)
        #expect(hasAgentToken, "an agent-role machine gets the agent token")
        #expect(!printedToken, "the agent printed the join token")

        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("second").path]))
        #expect(
            sameSecret(try TestPaths.bytes(rig.file("second/disk.key")), key),
            "a second attestation released another key")

        // A pinned PCR changes: refused, nothing written, the reason printed.
        try tpm.run("tpm2_pcrextend", ["4:sha256=" + String(repeating: "ab", count: 32)])
        let changed = try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("changed").path])
        #expect(changed.status == 1 && changed.stderr.contains("PCR 4 (sha256)"))
        #expect(!FileManager.default.fileExists(atPath: rig.file("changed").path))
        // Still refused on the next boot, until an operator approves what they reviewed.
        #expect(try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("changed").path]).status == 1)
        let refusedID = try #require(try rig.store.attestations(machineID: id).first { !$0.passed }?.id)
        try rig.expectSuccess(rig.server.cli(["machine", "approve", "node-1", "--attestation", String(refusedID)]))
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("approved").path]))
        #expect(sameSecret(try TestPaths.bytes(rig.file("approved/disk.key")), key))

        let show = try rig.server.cli(["machine", "show", "node-1", "--format", "json"])
        let detail = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect((detail["policy"] as? [String: Any])?["version"] as? Int == 2)
        #expect((detail["attestations"] as? [Any])?.count == 5)
        let actions = try rig.audit(machine: id).map(\.action)
        #expect(actions.filter { $0 == "release" }.count == 3)
        #expect(actions.contains("policy-pinned") && actions.contains("enrolment"))

        // Sealed at rest: no database file holds the disk key or a token.
        let files = try FileManager.default.contentsOfDirectory(atPath: rig.server.stateDir.path).filter {
            $0.hasPrefix("warden.sqlite")
        }
        for file in files {
            let bytes = try TestPaths.bytes(rig.server.stateDir.appendingPathComponent(file))
            let holdsSecret = [key, Array(rig.token.utf8.suffix(32)), Array(rig.agentToken.utf8.suffix(32))].contains {
                bytes.contains(subsequence: $0)
            }
            #expect(!holdsSecret, "\(file) holds a secret in the clear")
        }
    }

    /// Unknown machines show up as discovered, get nothing, and can be adopted.
    @Test func unknownEKIsRefusedAndCanRegisterAsDiscovered() throws {
        let rig = try SystemRig()
        let stranger = try SoftwareTPM()
        let refused = try rig.server.agent("attest", tcti: stranger.tcti, ["--out", rig.file("stranger").path])
        #expect(refused.status == 1 && refused.stderr.contains("not enrolled"))
        #expect(!FileManager.default.fileExists(atPath: rig.file("stranger").path))
        #expect(try rig.store.auditRecords(subjectPrefix: "ek/").contains { $0.details.contains("EK not enrolled") })

        try rig.expectSuccess(rig.server.agent("register", tcti: stranger.tcti))
        let listed = try rig.server.cli(["machine", "list", "--format", "json"])
        let machines = try #require(
            try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(machines.count == 1 && machines[0]["state"] as? String == "discovered")
        // Still nothing released to it.
        #expect(try rig.server.agent("attest", tcti: stranger.tcti, ["--out", rig.file("stranger").path]).status == 1)
        // Adoption needs its EK certificate checked against a vendor CA; it sent none.
        let adopt = try rig.server.cli([
            "machine", "enroll", "adopted", "--discovered", String(machines[0]["id"] as? Int ?? 0),
        ])
        #expect(adopt.status == 1 && adopt.stderr.contains("no EK certificate"))
    }

    @Test func revokedMachineGetsNothing() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        let id = try rig.enroll(tpm, as: "node-1")
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("before").path]))
        try rig.expectSuccess(rig.server.cli(["machine", "revoke", "node-1"]))
        let refused = try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("after").path])
        #expect(refused.status == 1 && refused.stderr.contains("revoked"))
        #expect(!FileManager.default.fileExists(atPath: rig.file("after").path))
        #expect(try rig.audit(machine: id).contains { $0.action == "refusal" && $0.details.contains("revoked") })
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
