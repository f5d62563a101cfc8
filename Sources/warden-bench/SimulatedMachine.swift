import Foundation
import NIOHTTP1
import TPM
import TPMSimulation
import TSS
import WardenAPI
import WardenClient
import WardenCrypto

/// One machine played by the load generator: a software EK (RSA-2048, default template)
/// and AK, its own keep-alive HTTPS connection, a TPM clock that only moves forward, and the
/// firmware's event log it sends with every quote, as a real agent does.
final class SimulatedMachine: @unchecked Sendable {
    let name: String
    let ek: SoftwareEndorsementKey
    let ak: SoftwareAttestationKey
    let akName: [UInt8]
    let pcrs: PCRValues
    let eventLog: [UInt8]
    private(set) var keyID: Int64 = 0
    /// What the challenge request shows: proof of the activation secret.
    private var challengeProof: [UInt8] = []
    private var clock: UInt64 = 1_000
    private var client: HTTPSClient?
    /// Its attestation request, all but each quote's fields encoded once it has joined.
    private var attestBody: AttestRequestBody?
    /// The appliance it attests to.
    private(set) var server = ""

    init(name: String, akScheme: SignatureScheme, pcrs: PCRValues, eventLog: [UInt8]) throws {
        self.name = name
        ek = try SoftwareEndorsementKey()
        ak = try SoftwareAttestationKey(scheme: akScheme)
        guard let akName = try TPMPublic.decode(ak.publicArea).name else {
            throw BenchError("the software AK has no name")
        }
        self.akName = akName
        self.pcrs = pcrs
        self.eventLog = eventLog
    }

    /// Connects, registers the AK and activates it with the software EK.
    func join(server: String, serverCA: String) async throws {
        let client = try await HTTPSClient(url: server, serverCA: serverCA)
        self.client = client
        self.server = server
        let registration: AgentMessages.RegisterResponse = try await client.call(
            .POST, "/v1/agent/register",
            AgentMessages.RegisterRequest(ekPublic: base64(ek.publicArea), akPublic: base64(ak.publicArea)))
        let proof = try ek.activate(
            CredentialChallenge(
                credentialBlob: bytes(registration.credentialBlob), encryptedSecret: bytes(registration.encryptedSecret)
            ), objectName: akName)
        let activated: AgentMessages.ActivateResponse = try await client.call(
            .POST, "/v1/agent/activate",
            AgentMessages.ActivateRequest(registration: registration.registration, proof: base64(proof)))
        keyID = activated.attestationKeyID
        challengeProof = ChallengeProof.make(activationSecret: proof, attestationKeyID: keyID)
        attestBody = try AttestRequestBody(
            attestationKeyID: keyID, pcrs: try TPM2ToolsPCRFile.serialize(pcrs), eventLog: eventLog)
    }

    /// One full attestation (challenge, quote, verdict, release): the nonce its release
    /// answered; with `open`, the release is checked and unwrapped as an agent would, and its
    /// node name returned too.
    @discardableResult
    func attest(open: Bool = false) async throws -> AttestationReceipt {
        guard let client, let attestBody else { throw BenchError("\(name) has not joined") }
        let challenge: AgentMessages.ChallengeResponse = try await client.call(
            .POST, "/v1/agent/challenge",
            AgentMessages.ChallengeRequest(attestationKeyID: keyID, proof: base64(challengeProof)))
        let nonce = bytes(challenge.nonce)
        clock += 10
        let quote = try ak.quote(
            pcrs, nonce: nonce, clock: .init(clock: clock, resetCount: 1, restartCount: 0, safe: true))
        let release: AgentMessages.ReleaseResponse = try await client.call(
            .POST, "/v1/agent/attest",
            rawBody: attestBody.json(nonce: nonce, attest: quote.attest, signature: quote.signature))
        guard open else { return AttestationReceipt(nonce: nonce, nodeName: nil) }
        let sealed = SealedRelease(
            credential: CredentialChallenge(
                credentialBlob: bytes(release.credentialBlob), encryptedSecret: bytes(release.encryptedSecret)),
            ciphertext: bytes(release.ciphertext), signature: bytes(release.signature))
        guard sealed.isSigned(by: try PublicKey(certificate: Array(release.releaseCertificate.utf8)), for: akName)
        else {
            throw BenchError("\(name): the release signature does not verify")
        }
        let seed = try ek.activate(sealed.credential, objectName: akName)
        let payload = try JSONDecoder().decode(
            ReleasePayload.self, from: Data(sealed.open(withActivatedKey: seed, akName: akName)))
        return AttestationReceipt(nonce: nonce, nodeName: payload.nodeName)
    }

    func close() async { await client?.close() }

    private func base64(_ bytes: [UInt8]) -> String { Base64.encode(bytes) }
    private func bytes(_ text: String) -> [UInt8] { Base64.decode(text) ?? [] }
}

/// What a release acknowledged to a simulated machine: the nonce it answered and, when the
/// release was opened, the node name inside.
struct AttestationReceipt {
    let nonce: [UInt8]
    let nodeName: String?
}
