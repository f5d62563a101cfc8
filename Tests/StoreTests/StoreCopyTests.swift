import Foundation
import LocalPostgres
import Store
import Testing
import TestSupport
import TPM
import WardenAPI
import WardenCrypto

/// `warden store copy`: a SQLite appliance's whole state moved into PostgreSQL.
@Suite(.postgresServer) struct StoreCopyTests {
    @Test func everyRowMovesAndTheChainStillVerifies() async throws {
        let folder = try TestPaths.temporaryDirectory("store-copy")
        let key = try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path)
        let signer = AuditSigner(interval: 3) { DigestAlgorithm.sha256.hash($0) }
        let source = try EnrolmentStore(
            path: folder.appendingPathComponent("warden.sqlite").path, key: key, auditSigner: signer)
        try source.addCluster(
            name: "rack-a", serverURL: "https://10.0.0.1:6443",
            token: Secret(text: "K10" + String(repeating: "a", count: 64)),
            agentToken: nil, actor: "test")
        var ids: [Int64] = []
        for index in 0..<3 {
            ids.append(
                try source.enroll(
                    MachineEnrolment(
                        name: "node-\(index)", ekPublic: [1], ekName: [0, 0x0b, UInt8(index)],
                        macs: ["52:54:00:00:00:0\(index)"], cluster: "rack-a", role: .agent), actor: "test"))
        }
        try source.revoke(machineNamed: "node-2", actor: "test")
        // The highest id is forgotten before the copy: it must not be given again.
        let seen = try source.discover(ekPublic: [1], ekName: [0, 0x0b, 9], ekCertificate: nil)
        try source.forget(
            discoveredMachineNamed: try #require(try source.machines().first { $0.id == seen.id }).name, actor: "test")
        let credential = SecureRandom.bytes(32)
        let ticket = try source.registrationTicket(
            machineID: ids[0], publicArea: [1], name: [0, 0x0b, 7], challenge: credential)
        let akID = try #require(try source.activateAttestationKey(ticket: ticket, proof: credential))
        guard
            case .issued(let nonce) = try source.issueNonce(
                attestationKeyID: akID, proof: ChallengeProof.make(activationSecret: credential, attestationKeyID: akID)
            )
        else { throw StoreError.invalid("no nonce") }
        try await source.record(
            AttestationOutcome(
                machineID: ids[0], attestationKeyID: akID,
                evidence: Evidence(
                    attestationKey: [1], attest: [2], signature: [3], pcrs: [4], eventLog: [5], nonce: nonce),
                passed: false, reasons: ["PCR 4 (sha256) differs"], policyID: nil, clock: nil), actor: "test")
        try source.checkpointAudit()

        let location = try StoreBackend.postgres.freshLocation(in: folder)
        let target = try EnrolmentStore(location: location, key: key, auditSigner: signer)
        let copied = try source.copy(into: target)
        #expect(copied.first { $0.table == "machine" }?.rows == 3)
        #expect(copied.first { $0.table == "auditRecord" }?.rows == (try source.auditRecords(subjectPrefix: "").count))

        // Times to the millisecond, as SQLite keeps them (PostgreSQL returns them through microseconds).
        func summaries(_ store: EnrolmentStore) throws -> [String] {
            try store.machines().map {
                "\($0.id) \($0.name) \($0.state) \($0.ekName) \($0.macs) \($0.cluster ?? "") \($0.role?.rawValue ?? "") "
                    + "\(Int64(($0.createdAt.timeIntervalSince1970 * 1_000).rounded()))"
            }
        }
        #expect(try summaries(target) == summaries(source))
        let records = try target.auditRecords(subjectPrefix: "")
        #expect(records == (try source.auditRecords(subjectPrefix: "")))
        #expect(zip(records, records.dropFirst()).allSatisfy { $1.previousHash == $0.hash })
        #expect(records.allSatisfy { AuditChain.hash(of: $0) == $0.hash })
        let sequences = try #require(records.first?.sequence)...(try #require(records.last?.sequence))
        #expect(
            try target.readAudit { try $0.checkpoints(in: sequences) }
                == (try source.readAudit { try $0.checkpoints(in: sequences) }))
        #expect(
            sameSecret(
                try target.releaseSecrets(machineID: ids[0]).diskKey,
                try source.releaseSecrets(machineID: ids[0]).diskKey))
        #expect(try target.attestations(machineID: ids[0]).map(\.reasons) == [["PCR 4 (sha256) differs"]])
        let copiedAttestation = try #require(try target.attestations(machineID: ids[0]).first)
        #expect(try target.attestation(id: copiedAttestation.id).eventLog == [5], "the event log kept by digest")
        #expect(try target.releaseSecrets(machineID: ids[1]).join?.serverURL == "https://10.0.0.1:6443")

        let next = try target.enroll(
            MachineEnrolment(name: "node-new", ekPublic: [1], ekName: [0, 0x0b, 8]), actor: "test")
        #expect(next == 5, "ids continue after the copied ones")
        try target.audit(actor: "test", action: "event", subject: "after", details: "the chain goes on")
        let after = try target.auditRecords(subjectPrefix: "")
        #expect(after.count == records.count + 2 && after[records.count].previousHash == records.last?.hash)

        #expect(throws: StoreError.self, "a target that holds rows is refused") { try source.copy(into: target) }
    }
}
