import Foundation
import Hummingbird
import TPM

/// The agent API over HTTP: no client certificate; the TPM is the credential.
public enum AgentAPI {
    /// Routes for `service` under /v1/agent.
    public static func router(_ service: AttestationService) -> Router<BasicRequestContext> {
        let router = Router()
        let agent = router.group("v1/agent")
        agent.post("register") { request, context -> Response in
            let body = try await request.decode(as: AgentMessages.RegisterRequest.self, context: context)
            return try answer {
                let registration = try service.register(ekPublic: try bytes(body.ekPublic, "ekPublic"), akPublic: try bytes(body.akPublic, "akPublic"))
                return AgentMessages.RegisterResponse(
                    attestationKeyID: registration.attestationKeyID,
                    credentialBlob: base64(registration.challenge.credentialBlob),
                    encryptedSecret: base64(registration.challenge.encryptedSecret))
            }
        }
        agent.post("activate") { request, context -> Response in
            let body = try await request.decode(as: AgentMessages.ActivateRequest.self, context: context)
            return try answer {
                try service.activate(attestationKeyID: body.attestationKeyID, proof: try bytes(body.proof, "proof"))
                return AgentMessages.ActivateResponse(attestationKeyID: body.attestationKeyID, activated: true)
            }
        }
        agent.post("challenge") { request, context -> Response in
            let body = try await request.decode(as: AgentMessages.ChallengeRequest.self, context: context)
            return try answer { AgentMessages.ChallengeResponse(nonce: base64(try service.challenge(attestationKeyID: body.attestationKeyID))) }
        }
        agent.post("attest") { request, context -> Response in
            let body = try await request.decode(as: AgentMessages.AttestRequest.self, context: context)
            return try answer {
                let pcrs: PCRValues
                do { pcrs = try TPM2ToolsPCRFile.parse(try bytes(body.pcrs, "pcrs")) } catch let refusal as AttestationRefusal { throw refusal } catch {
                    throw AttestationRefusal(.evidence, "\(error)")
                }
                let release = try service.attest(
                    attestationKeyID: body.attestationKeyID, nonce: try bytes(body.nonce, "nonce"), attest: try bytes(body.attest, "attest"),
                    signature: try bytes(body.signature, "signature"), pcrs: pcrs, eventLog: try body.eventLog.map { try bytes($0, "eventLog") })
                return AgentMessages.ReleaseResponse(
                    credentialBlob: base64(release.credential.credentialBlob), encryptedSecret: base64(release.credential.encryptedSecret),
                    ciphertext: base64(release.ciphertext), signature: base64(release.signature))
            }
        }
        return router
    }

    /// 200 with the JSON of what `body` returns, or 403 with the refusal.
    private static func answer(_ body: () throws -> some Encodable) throws -> Response {
        do {
            return try json(.ok, body())
        } catch let refusal as AttestationRefusal {
            let status: HTTPResponse.Status = refusal.reason == .internalError ? .internalServerError : .forbidden
            return try json(status, AgentMessages.Refusal(error: refusal.reason.rawValue, reason: refusal.reason == .internalError ? "internal error" : refusal.detail))
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
    }

    private static func bytes(_ text: String, _ field: String) throws(AttestationRefusal) -> [UInt8] {
        guard let data = Data(base64Encoded: text) else { throw AttestationRefusal(.evidence, "\(field) is not base64") }
        return [UInt8](data)
    }

    private static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
