import Foundation
import Server
import Store
import TPM
import TPMSimulation
import TSS
import WardenCrypto

/// Fills a state folder with an audit chain as an appliance grows one: machines with
/// software TPM identities enrol and attest in-process through the real attestation
/// service (one attestation in ten after a PCR change, so refused), then refusals of
/// unknown EKs make up the requested number of records.
struct AuditWorkload {
    let stateDir: String
    let records: Int
    let attestations: Int
    let checkpointInterval: Int64

    /// What was generated.
    struct Outcome {
        let records: Int64
        let attestations: Int
        let refused: Int
    }

    func generate() async throws -> Outcome {
        let state = try StateFolder.initialise(at: stateDir)
        let key = try state.auditKey()
        let store = try EnrolmentStore(
            path: state.databasePath, key: state.keyEncryptionKey(),
            auditSigner: key.checkpointSigner(interval: checkpointInterval))
        let service = AttestationService(store: store, releaseKey: try state.releaseKey())
        let selection = PCRSelection([PCRSelection.Bank(hash: .sha256, pcrs: Array(0...23))])
        let booted = try PCRValues(
            selection: selection, values: (0..<24).map { DigestAlgorithm.sha256.hash([UInt8($0)]) })
        let tampered = try PCRValues(
            selection: selection, values: (0..<24).map { DigestAlgorithm.sha256.hash([UInt8($0), $0 == 4 ? 1 : 0]) })
        let (bootedFile, tamperedFile) = (
            try TPM2ToolsPCRFile.serialize(booted), try TPM2ToolsPCRFile.serialize(tampered)
        )
        var done = 0, refused = 0
        var machine = 0
        while done < attestations {
            let ek = try SoftwareEndorsementKey()
            let ak = try SoftwareAttestationKey(scheme: .ecdsa(.sha256))
            guard let ekName = try TPMPublic.decode(ek.publicArea).name,
                let akName = try TPMPublic.decode(ak.publicArea).name
            else {
                throw BenchError("a software key has no name")
            }
            try store.enroll(
                MachineEnrolment(name: "node-\(machine)", ekPublic: ek.publicArea, ekName: ekName), actor: "bench")
            let registration = try service.register(ekPublic: ek.publicArea, akPublic: ak.publicArea)
            let secret = try ek.activate(registration.challenge, objectName: akName)
            let keyID = try service.activate(registration: registration.ticket, proof: secret)
            let proof = ChallengeProof.make(activationSecret: secret, attestationKeyID: keyID)
            for round in 0..<min(10, attestations - done) {
                let nonce = try service.challenge(attestationKeyID: keyID, proof: proof)
                let (pcrs, pcrFile) = round == 9 ? (tampered, tamperedFile) : (booted, bootedFile)
                let quote = try ak.quote(
                    pcrs, nonce: nonce,
                    clock: .init(clock: UInt64(1_000 + round * 10), resetCount: 1, restartCount: 0, safe: true))
                do throws(AttestationRefusal) {
                    let evidence = Evidence(
                        attestationKey: [], attest: quote.attest, signature: quote.signature, pcrs: pcrFile,
                        nonce: nonce)
                    _ = try await service.attest(attestationKeyID: keyID, evidence: evidence)
                } catch {
                    guard error.reason == .policy else { throw error }
                    refused += 1
                }
                done += 1
            }
            machine += 1
        }
        var head = try store.readAudit { try $0.sequences(from: nil, to: nil)?.upperBound ?? 0 }
        while head < Int64(records) {
            let count = min(10_000, Int64(records) - head)
            try store.audit(
                (0..<count).map { index in
                    AuditEvent(
                        actor: "agent", action: "refusal",
                        subject: "ek/"
                            + Hex.encode(DigestAlgorithm.sha256.hash(Array(String(head + index).utf8)).prefix(8)),
                        details: "registration refused: EK not enrolled")
                })
            head += count
        }
        try store.checkpointAudit()
        return Outcome(records: head, attestations: done, refused: refused)
    }
}
