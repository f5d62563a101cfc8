#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TPM
import TSS
import WardenAPI
import WardenClient
import WardenCrypto

/// The agent's side of attestation: the EK from the TCG default template, an AK made under
/// it, registration and credential activation, a quote over a fresh nonce, and the release
/// opened only after its signer and signature check out.
public struct Attestor: Sendable {
    /// The PCRs quoted: every SHA-256 PCR, so any policy can be evaluated.
    public static let selection = PCRSelection([PCRSelection.Bank(hash: .sha256, pcrs: Array(0...23))])

    let tcti: String
    let appliances: ApplianceFailover
    let serverCA: String
    let removed: RemovedAppliances

    /// - Parameters: `tcti`, the TPM (`device:/dev/tpmrm0`, `swtpm:host=…,port=…`);
    ///   `appliances`, Warden's URLs and how long to keep trying them; `serverCA`, the path
    ///   of Warden's server CA certificate; `removed`, the appliances not to trust.
    public init(
        tcti: String, appliances: ApplianceFailover, serverCA: String,
        removed: RemovedAppliances = RemovedAppliances(certificateDigests: [])
    ) {
        self.tcti = tcti
        self.appliances = appliances
        self.serverCA = serverCA
        self.removed = removed
    }

    /// Announces this machine's EK, with its certificate from NV when the TPM has one, so
    /// that an operator can adopt it; returns its id.
    public func discover() async throws -> AgentMessages.DiscoverResponse {
        let request = try endorsementRequest()
        return try await appliances.run { server in
            let client = try await HTTPSClient(url: server, serverCA: serverCA, serverCheck: removed.serverCheck)
            defer { Task { await client.close() } }
            return try await refusing {
                try await client.call(.POST, "/v1/agent/discover", request, as: AgentMessages.DiscoverResponse.self)
            }
        }
    }

    /// The EK (TPM2B_PUBLIC) and, when the TPM's NV holds one, its certificate, as the agent
    /// API names a machine that is not enrolled.
    func endorsementRequest() throws(AgentError) -> AgentMessages.DiscoverRequest {
        let device = try openDevice()
        let ek = try tpm { try device.createEndorsementKey() }
        defer { device.flush(ek) }
        let certificate = try tpm { try device.endorsementCertificate() }
        return AgentMessages.DiscoverRequest(ekPublic: base64(ek.publicArea), ekCertificate: certificate.map(base64))
    }

    /// The server CA's certificate (PEM), which release signers must be issued by.
    func serverCAText() throws(AgentError) -> String {
        do { return try String(contentsOfFile: serverCA, encoding: .utf8) } catch {
            throw AgentError.output("cannot read \(serverCA)")
        }
    }

    /// Runs the whole flow and returns the opened release. `legacyBIOS`: the kernel command
    /// line says Warden booted this machine by legacy BIOS, which measured neither kernel
    /// nor initrd; the attestation reports it, and that boot is judged unmeasured.
    public func attest(eventLog: [UInt8]?, legacyBIOS: Bool = false) async throws -> ReleasePayload {
        let device = try openDevice()
        let ek = try tpm { try device.createEndorsementKey() }
        defer { device.flush(ek) }
        let ak = try tpm { try device.createAttestationKey(under: ek) }
        defer { device.flush(ak) }
        guard let akName = try? TPMPublic.decode(ak.publicArea).name else {
            throw AgentError.tpm("the AK's public area is unreadable")
        }
        return try await appliances.run { server in
            try await attest(
                at: server, eventLog: eventLog, legacyBIOS: legacyBIOS, device: device, ek: ek, ak: ak, akName: akName)
        }
    }

    /// The whole flow against the appliance at `server`.
    private func attest(
        at server: String, eventLog: [UInt8]?, legacyBIOS: Bool, device: TPMDevice, ek: TPMDevice.LoadedKey,
        ak: TPMDevice.LoadedKey, akName: [UInt8]
    ) async throws -> ReleasePayload {
        let client = try await HTTPSClient(url: server, serverCA: serverCA, serverCheck: removed.serverCheck)
        defer { Task { await client.close() } }

        let registration = try await refusing {
            try await client.call(
                .POST, "/v1/agent/register",
                AgentMessages.RegisterRequest(ekPublic: base64(ek.publicArea), akPublic: base64(ak.publicArea)),
                as: AgentMessages.RegisterResponse.self)
        }
        let proof = try tpm {
            try device.activateCredential(
                ak: ak, ek: ek, credentialBlob: try bytes(registration.credentialBlob),
                encryptedSecret: try bytes(registration.encryptedSecret))
        }
        let keyID = try await refusing {
            try await client.call(
                .POST, "/v1/agent/activate",
                AgentMessages.ActivateRequest(registration: registration.registration, proof: base64(proof)),
                as: AgentMessages.ActivateResponse.self)
        }.attestationKeyID
        let challenge = AgentMessages.ChallengeRequest(
            attestationKeyID: keyID,
            proof: base64(ChallengeProof.make(activationSecret: proof, attestationKeyID: keyID)))
        let nonce = try bytes(
            try await refusing {
                try await client.call(.POST, "/v1/agent/challenge", challenge, as: AgentMessages.ChallengeResponse.self)
            }.nonce)
        let quote = try tpm { try device.quote(with: ak, selection: Self.selection, nonce: nonce) }
        let pcrs = try tpm {
            try TPM2ToolsPCRFile.serialize(
                PCRValues(selection: Self.selection, values: device.readPCRs(Self.selection)))
        }
        let request = AgentMessages.AttestRequest(
            attestationKeyID: keyID, nonce: base64(nonce), attest: base64(quote.attest),
            signature: base64(quote.signature), pcrs: base64(pcrs),
            eventLog: eventLog.map(base64), legacyBIOS: legacyBIOS ? true : nil)
        let response = try await refusing {
            try await client.call(.POST, "/v1/agent/attest", request, as: AgentMessages.ReleaseResponse.self)
        }
        return try open(response, akName: akName, device: device, ak: ak, ek: ek)
    }

    /// Checks the release's signer and signature, then unwraps it with the TPM.
    private func open(
        _ response: AgentMessages.ReleaseResponse, akName: [UInt8], device: TPMDevice, ak: TPMDevice.LoadedKey,
        ek: TPMDevice.LoadedKey
    ) throws -> ReleasePayload {
        let signer = try ReleaseSigner.publicKey(
            certificatePEM: response.releaseCertificate, serverCA: try serverCAText())
        let release = SealedRelease(
            credential: CredentialChallenge(
                credentialBlob: try bytes(response.credentialBlob), encryptedSecret: try bytes(response.encryptedSecret)
            ),
            ciphertext: try bytes(response.ciphertext), signature: try bytes(response.signature))
        guard release.isSigned(by: signer, for: akName) else {
            throw AgentError.badRelease("the signature does not verify")
        }
        let seed = try tpm {
            try device.activateCredential(
                ak: ak, ek: ek, credentialBlob: release.credential.credentialBlob,
                encryptedSecret: release.credential.encryptedSecret)
        }
        do {
            let payload = try JSONDecoder().decode(
                ReleasePayload.self, from: Data(try release.open(withActivatedKey: seed, akName: akName)))
            guard payload.diskKey.count == 32 else { throw AgentError.badRelease("the disk key is not 32 bytes") }
            return payload
        } catch let error as AgentError { throw error } catch {
            throw AgentError.badRelease("the payload does not open")
        }
    }

    private func openDevice() throws(AgentError) -> TPMDevice {
        do { return try TPMDevice(tcti: tcti) } catch { throw .tpm("cannot open \(tcti): \(error)") }
    }

    private func tpm<T>(_ body: () throws -> T) throws(AgentError) -> T {
        do { return try body() } catch let error as AgentError { throw error } catch { throw .tpm("\(error)") }
    }

    func refusing<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let refusal as APIRefusal {
            throw [503, 429].contains(refusal.status)
                ? AgentError.unavailable(refusal.reason) : AgentError.refused(refusal.reason)
        }
    }

    private func bytes(_ text: String) throws(AgentError) -> [UInt8] {
        guard let bytes = Base64.decode(text) else { throw .badRelease("a field is not base64") }
        return bytes
    }

    private func base64(_ bytes: [UInt8]) -> String { Base64.encode(bytes) }
}
