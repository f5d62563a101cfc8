import Foundation
import Hummingbird
import NIOPosix
import TPM
import WardenAPI

/// The agent API: no client certificate; the TPM is the credential. Rate-limited per
/// source address; refusals are 403 with the reason, and audited by the service.
enum AgentAPI {
    static func addRoutes(
        to router: Router<WardenRequestContext>, service: AttestationService, enrolment: SecureBootEnrolmentService,
        releaseCertificate: String, limiter: RateLimitMiddleware, bodyLimit: BodyLimitMiddleware, pool: NIOThreadPool
    ) {
        let agent = router.group("v1/agent").add(middleware: limiter).add(middleware: bodyLimit)
        addEnrolmentRoutes(to: agent, enrolment: enrolment, pool: pool)
        agent.post("discover") { request, context -> Response in
            let body = try await APIResponses.decode(
                AgentMessages.DiscoverRequest.self, from: request, context: context)
            let source = context.sourceAddress
            return try await answer(on: pool) {
                let found = try service.discover(
                    ekPublic: try AttestationRefusal.bytes(body.ekPublic, "ekPublic"),
                    ekCertificate: try body.ekCertificate.map { try AttestationRefusal.bytes($0, "ekCertificate") },
                    from: source)
                return AgentMessages.DiscoverResponse(machineID: found.id, state: found.state.rawValue)
            }
        }
        agent.post("register") { request, context -> Response in
            let body = try await APIResponses.decode(
                AgentMessages.RegisterRequest.self, from: request, context: context)
            let source = context.sourceAddress
            return try await answer(on: pool) {
                let registration = try service.register(
                    ekPublic: try AttestationRefusal.bytes(body.ekPublic, "ekPublic"),
                    akPublic: try AttestationRefusal.bytes(body.akPublic, "akPublic"),
                    from: source)
                return AgentMessages.RegisterResponse(
                    registration: base64(registration.ticket),
                    credentialBlob: base64(registration.challenge.credentialBlob),
                    encryptedSecret: base64(registration.challenge.encryptedSecret))
            }
        }
        agent.post("activate") { request, context -> Response in
            let body = try await APIResponses.decode(
                AgentMessages.ActivateRequest.self, from: request, context: context)
            let source = context.sourceAddress
            return try await answer(on: pool) {
                let id = try service.activate(
                    registration: try AttestationRefusal.bytes(body.registration, "registration"),
                    proof: try AttestationRefusal.bytes(body.proof, "proof"),
                    from: source)
                return AgentMessages.ActivateResponse(attestationKeyID: id, activated: true)
            }
        }
        agent.post("challenge") { request, context -> Response in
            let body = try await APIResponses.decode(
                AgentMessages.ChallengeRequest.self, from: request, context: context)
            let source = context.sourceAddress
            return try await answer(on: pool) {
                let nonce = try service.challenge(
                    attestationKeyID: body.attestationKeyID, proof: try AttestationRefusal.bytes(body.proof, "proof"),
                    from: source)
                return AgentMessages.ChallengeResponse(nonce: base64(nonce))
            }
        }
        agent.post("attest") { request, context -> Response in
            let body = try await APIResponses.decode(AgentMessages.AttestRequest.self, from: request, context: context)
            let source = context.sourceAddress
            // Decoding base64 blocks nothing; the service runs what does on the agent threads.
            return try await answer {
                let evidence = Evidence(
                    attestationKey: [], attest: try AttestationRefusal.bytes(body.attest, "attest"),
                    signature: try AttestationRefusal.bytes(body.signature, "signature"),
                    pcrs: try AttestationRefusal.bytes(
                        body.pcrs, "pcrs", decodingAtMost: AttestationService.maxPCRFileSize),
                    eventLog: try body.eventLog.map {
                        try AttestationRefusal.bytes($0, "eventLog", decodingAtMost: EventLog.maxSize)
                    },
                    nonce: try AttestationRefusal.bytes(body.nonce, "nonce"), legacyBIOS: body.legacyBIOS ?? false)
                let release = try await service.attest(
                    attestationKeyID: body.attestationKeyID, evidence: evidence, from: source)
                return AgentMessages.ReleaseResponse(
                    credentialBlob: base64(release.credential.credentialBlob),
                    encryptedSecret: base64(release.credential.encryptedSecret),
                    ciphertext: base64(release.ciphertext), signature: base64(release.signature),
                    releaseCertificate: releaseCertificate)
            }
        }
    }

    /// Secure Boot enrolment: the signed updates, what the agent wrote, what it refused.
    private static func addEnrolmentRoutes(
        to agent: RouterGroup<WardenRequestContext>, enrolment: SecureBootEnrolmentService, pool: NIOThreadPool
    ) {
        typealias Messages = SecureBootEnrolmentMessages
        agent.post("secureboot/enrol") { request, context -> Response in
            let body = try await APIResponses.decode(Messages.Request.self, from: request, context: context)
            let source = context.sourceAddress
            return try await answer(on: pool) { try enrolment.updates(for: body, from: source) }
        }
        agent.post("secureboot/enrolled") { request, context -> Response in
            let body = try await APIResponses.decode(Messages.Report.self, from: request, context: context)
            let source = context.sourceAddress
            return try await answer(on: pool) { try enrolment.recordWritten(body, from: source) }
        }
        agent.post("secureboot/refused") { request, context -> Response in
            let body = try await APIResponses.decode(Messages.Refusal.self, from: request, context: context)
            let source = context.sourceAddress
            return try await answer(on: pool) { try enrolment.recordRefusal(body, from: source) }
        }
    }

    /// 200 with the JSON of what `body` returns (run on `pool`, off the event loop), or the refusal.
    private static func answer<T: Encodable & Sendable>(
        on pool: NIOThreadPool, _ body: @escaping @Sendable () throws -> T
    ) async throws -> Response {
        try await answer { try await pool.run(body) }
    }

    /// 200 with the JSON of what `body` returns, or the refusal.
    private static func answer<T: Encodable>(_ body: () async throws -> T) async throws -> Response {
        do {
            return try APIResponses.json(.ok, try await body())
        } catch let refusal as AttestationRefusal {
            let status: HTTPResponse.Status =
                switch refusal.reason {
                case .internalError: .internalServerError
                case .unavailable: .serviceUnavailable
                case .limit: .tooManyRequests
                default: .forbidden
                }
            var response = try APIResponses.refusal(
                status, error: refusal.reason.rawValue,
                reason: refusal.reason == .internalError ? "internal error" : refusal.detail)
            if status == .serviceUnavailable { response.headers[.retryAfter] = "\(APIResponses.databaseRetryAfter)" }
            return response
        }
    }

    private static func base64(_ bytes: [UInt8]) -> String { Base64.encode(bytes) }
}

/// Refuses (429) sources that exceed their rate; the refusals are audited in bounded form.
struct RateLimitMiddleware: RouterMiddleware {
    let limiter: RateLimiter
    let refusals: RefusalAudit

    func handle(
        _ request: Request, context: WardenRequestContext,
        next: (Request, WardenRequestContext) async throws -> Response
    ) async throws -> Response {
        let source = context.sourceAddress
        guard limiter.admit(source) == .refused else { return try await next(request, context) }
        let path = request.uri.path
        WardenMetrics.rateLimited(endpoint: Self.endpoint(of: path))
        try? await BlockingPools.agent.run {
            refusals.refused(
                .rateLimited, actor: "anonymous \(source)", subject: "rate-limit",
                details: "rate limit: \(source) refused on \(path)", source: source)
        }
        return try APIResponses.refusal(
            .tooManyRequests, error: "rateLimited", reason: "too many requests from this address; retry later")
    }
}
