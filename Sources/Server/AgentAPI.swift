import Foundation
import Hummingbird
import TPM
import WardenAPI

/// The agent API: no client certificate; the TPM is the credential. Rate-limited per
/// source address; refusals are 403 with the reason, and audited by the service.
enum AgentAPI {
    static func addRoutes(to router: Router<WardenRequestContext>, service: AttestationService, releaseCertificate: String, limiter: RateLimitMiddleware,
                          bodyLimit: BodyLimitMiddleware) {
        let agent = router.group("v1/agent").add(middleware: limiter).add(middleware: bodyLimit)
        agent.post("discover") { request, context -> Response in
            let body = try await APIResponses.decode(AgentMessages.DiscoverRequest.self, from: request, context: context)
            return try await answer {
                let found = try service.discover(ekPublic: try bytes(body.ekPublic, "ekPublic"), ekCertificate: try body.ekCertificate.map { try bytes($0, "ekCertificate") })
                return AgentMessages.DiscoverResponse(machineID: found.id, state: found.state)
            }
        }
        agent.post("register") { request, context -> Response in
            let body = try await APIResponses.decode(AgentMessages.RegisterRequest.self, from: request, context: context)
            return try await answer {
                let registration = try service.register(ekPublic: try bytes(body.ekPublic, "ekPublic"), akPublic: try bytes(body.akPublic, "akPublic"))
                return AgentMessages.RegisterResponse(
                    attestationKeyID: registration.attestationKeyID,
                    credentialBlob: base64(registration.challenge.credentialBlob),
                    encryptedSecret: base64(registration.challenge.encryptedSecret))
            }
        }
        agent.post("activate") { request, context -> Response in
            let body = try await APIResponses.decode(AgentMessages.ActivateRequest.self, from: request, context: context)
            return try await answer {
                try service.activate(attestationKeyID: body.attestationKeyID, proof: try bytes(body.proof, "proof"))
                return AgentMessages.ActivateResponse(attestationKeyID: body.attestationKeyID, activated: true)
            }
        }
        agent.post("challenge") { request, context -> Response in
            let body = try await APIResponses.decode(AgentMessages.ChallengeRequest.self, from: request, context: context)
            return try await answer { AgentMessages.ChallengeResponse(nonce: base64(try service.challenge(attestationKeyID: body.attestationKeyID))) }
        }
        agent.post("attest") { request, context -> Response in
            let body = try await APIResponses.decode(AgentMessages.AttestRequest.self, from: request, context: context)
            return try await answer {
                let pcrs: PCRValues
                do { pcrs = try TPM2ToolsPCRFile.parse(try bytes(body.pcrs, "pcrs")) } catch let refusal as AttestationRefusal { throw refusal } catch {
                    throw AttestationRefusal(.evidence, "\(error)")
                }
                let release = try service.attest(
                    attestationKeyID: body.attestationKeyID, nonce: try bytes(body.nonce, "nonce"), attest: try bytes(body.attest, "attest"),
                    signature: try bytes(body.signature, "signature"), pcrs: pcrs, eventLog: try body.eventLog.map { try bytes($0, "eventLog") })
                return AgentMessages.ReleaseResponse(
                    credentialBlob: base64(release.credential.credentialBlob), encryptedSecret: base64(release.credential.encryptedSecret),
                    ciphertext: base64(release.ciphertext), signature: base64(release.signature), releaseCertificate: releaseCertificate)
            }
        }
    }

    /// 200 with the JSON of what `body` returns (run off the event loop), or the refusal.
    private static func answer<T: Encodable & Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> Response {
        do {
            return try APIResponses.json(.ok, try await APIResponses.offLoop(body))
        } catch let refusal as AttestationRefusal {
            let status: HTTPResponse.Status = switch refusal.reason {
            case .internalError: .internalServerError
            case .limit: .tooManyRequests
            default: .forbidden
            }
            return try APIResponses.refusal(status, error: refusal.reason.rawValue, reason: refusal.reason == .internalError ? "internal error" : refusal.detail)
        }
    }

    private static func bytes(_ text: String, _ field: String) throws(AttestationRefusal) -> [UInt8] {
        guard let bytes = Base64.decode(text) else { throw AttestationRefusal(.evidence, "\(field) is not base64") }
        return bytes
    }

    private static func base64(_ bytes: [UInt8]) -> String { Base64.encode(bytes) }
}

/// Refuses (429) sources that exceed their rate; audits the first refusal of each source
/// per window and counts the rest, so a flood cannot grow the audit log without bound.
struct RateLimitMiddleware: RouterMiddleware {
    let limiter: RateLimiter
    let audit: @Sendable (String) -> Void

    func handle(_ request: Request, context: WardenRequestContext, next: (Request, WardenRequestContext) async throws -> Response) async throws -> Response {
        switch limiter.admit(context.sourceAddress) {
        case .allowed:
            return try await next(request, context)
        case .refused(let first, let counted):
            if first {
                let source = context.sourceAddress
                let text = "rate limit: \(source) refused on \(request.uri.path)" + (counted > 1 ? " (\(counted) refusals since the last record)" : "")
                try? await APIResponses.offLoop { audit(text) }
            }
            return try APIResponses.refusal(.tooManyRequests, error: "rateLimited", reason: "too many requests from this address; retry later")
        }
    }
}
