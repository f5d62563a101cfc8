import Foundation
import NIOHTTP1
import TPM
import TSS
import TestSupport
import WardenAPI
import WardenClient
import WardenCrypto

/// The agent's protocol step by step, so that tests can do what a real agent never would:
/// mix keys of two TPMs, skip activation, replay or swap nonces.
struct ManualAgent {
    let tpm: SoftwareTPM
    let device: TPMDevice
    let ek: TPMDevice.LoadedKey
    let ak: TPMDevice.LoadedKey
    let client: HTTPSClient

    init(tpm: SoftwareTPM, server: WardenServerProcess) async throws {
        self.tpm = tpm
        device = try TPMDevice(tcti: tpm.tcti)
        ek = try device.createEndorsementKey()
        ak = try device.createAttestationKey(under: ek)
        client = try await HTTPSClient(url: server.url, serverCA: server.serverCA)
    }

    static let selection = PCRSelection([PCRSelection.Bank(hash: .sha256, pcrs: Array(0...23))])

    func register(ekPublic: [UInt8]? = nil) async throws -> AgentMessages.RegisterResponse {
        try await client.call(
            .POST, "/v1/agent/register",
            AgentMessages.RegisterRequest(ekPublic: b64(ekPublic ?? ek.publicArea), akPublic: b64(ak.publicArea)))
    }

    /// An activated key: its id and what its challenge requests must show.
    struct ActivatedKey {
        let id: Int64
        let proof: [UInt8]
    }

    /// Activates the key the registration names.
    func activate(_ registration: AgentMessages.RegisterResponse) async throws -> ActivatedKey {
        let secret = try device.activateCredential(
            ak: ak, ek: ek, credentialBlob: bytes(registration.credentialBlob),
            encryptedSecret: bytes(registration.encryptedSecret))
        let activated: AgentMessages.ActivateResponse = try await client.call(
            .POST, "/v1/agent/activate",
            AgentMessages.ActivateRequest(registration: registration.registration, proof: b64(secret)))
        return ActivatedKey(
            id: activated.attestationKeyID,
            proof: ChallengeProof.make(activationSecret: secret, attestationKeyID: activated.attestationKeyID))
    }

    /// A nonce for key `keyID`, showing `proof` (a wrong one, when a test wants it refused).
    func nonce(_ keyID: Int64, proof: [UInt8]) async throws -> [UInt8] {
        let answer: AgentMessages.ChallengeResponse = try await client.call(
            .POST, "/v1/agent/challenge", AgentMessages.ChallengeRequest(attestationKeyID: keyID, proof: b64(proof)))
        return bytes(answer.nonce)
    }

    /// A quote over `nonce`, as the attest request's body.
    func evidence(_ keyID: Int64, nonce: [UInt8]) throws -> AgentMessages.AttestRequest {
        let quote = try device.quote(with: ak, selection: Self.selection, nonce: nonce)
        let pcrs = try TPM2ToolsPCRFile.serialize(
            PCRValues(selection: Self.selection, values: device.readPCRs(Self.selection)))
        return AgentMessages.AttestRequest(
            attestationKeyID: keyID, nonce: b64(nonce), attest: b64(quote.attest), signature: b64(quote.signature),
            pcrs: b64(pcrs), eventLog: nil)
    }

    func attest(_ body: AgentMessages.AttestRequest) async throws -> AgentMessages.ReleaseResponse {
        try await client.call(.POST, "/v1/agent/attest", body)
    }

    func b64(_ bytes: [UInt8]) -> String { Base64.encode(bytes) }
    func bytes(_ text: String) -> [UInt8] { Base64.decode(text) ?? [] }
}
