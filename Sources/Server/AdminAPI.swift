import Audit
import Foundation
import Hummingbird
import Logging
import NIOSSL
import Store
import WardenAPI

/// The admin API under /v1/admin, the audit key at /v1/audit/key and the server's version at
/// /v1/version: only with a client
/// certificate from Warden's client CA; `operator` may do everything, `auditor` may only read.
enum AdminAPI {
    /// `limiter` applies before authentication, so that anonymous floods are bounded like
    /// the agent API's (each refusal is otherwise audited).
    /// Every route but the image upload also has `bodyLimit`; the upload streams to disk
    /// under `maxImageBytes`, once its caller has authenticated. Every authenticated call is
    /// a line in `logger`.
    static func addRoutes(
        to router: Router<WardenRequestContext>, service: AdminService, limiter: RateLimitMiddleware,
        bodyLimit: BodyLimitMiddleware,
        maxImageBytes: Int, exports: ExportGate, metrics: MetricsScrape?, logger: Logger
    ) {
        let authenticator = AdminAuthenticator(service: service, refusals: limiter.refusals, logger: logger)
        let authenticated = router.group("v1/admin").add(middleware: limiter).add(middleware: authenticator)
        let admin = authenticated.group().add(middleware: bodyLimit)
        let outside = router.group("v1").add(middleware: limiter).add(middleware: authenticator)
        outside.get("audit/key") { _, context in try await answer(context) { try service.auditPublicKey(by: $0) } }
        outside.get("version") { _, context in try await answer(context) { try service.version(by: $0) } }
        if let metrics {
            router.group("metrics").add(middleware: limiter).add(middleware: authenticator).get { _, context in
                guard context.caller != nil else {
                    return try APIResponses.refusal(
                        .unauthorized, error: "unauthenticated", reason: "a client certificate is required")
                }
                let text = try await BlockingPools.admin.run { metrics.text() }
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
        admin.get("machines") { _, context in try await answer(context) { try service.machines(by: $0) } }
        admin.post("machines") { request, context in
            let body = try await APIResponses.decode(AdminMessages.EnrollRequest.self, from: request, context: context)
            return try await answer(context, status: .created) { try service.enroll(body, by: $0) }
        }
        admin.get("machines/:name") { _, context in
            let name = try context.parameters.require("name")
            return try await answer(context) { try service.machine(named: name, by: $0) }
        }
        admin.post("machines/:name/approve") { request, context in
            let name = try context.parameters.require("name")
            let body = try await APIResponses.decode(AdminMessages.ApproveRequest.self, from: request, context: context)
            return try await answer(context) {
                try service.approve(machineNamed: name, attestationID: body.attestationID, by: $0)
            }
        }
        admin.post("machines/:name/revoke") { _, context in
            let name = try context.parameters.require("name")
            return try await answer(context) { caller in
                try service.revoke(machineNamed: name, by: caller)
                return AdminMessages.Done(message: "machine \(name) revoked")
            }
        }
        admin.delete("machines/:name") { _, context in
            let name = try context.parameters.require("name")
            return try await answer(context) { caller in
                try service.forget(discoveredMachineNamed: name, by: caller)
                return AdminMessages.Done(message: "discovered machine \(name) forgotten")
            }
        }
        admin.post("machines/:name/clear-legacy-mark") { _, context in
            let name = try context.parameters.require("name")
            return try await answer(context) { caller in
                try service.clearLegacyBootMark(machineNamed: name, by: caller)
                return AdminMessages.Done(message: "the legacy BIOS mark of \(name) is cleared")
            }
        }
        admin.get("machines/:name/learned-policy") { request, context in
            let name = try context.parameters.require("name")
            let query = request.uri.queryParameters
            let policyName = query.get("name") ?? "learned-\(name)"
            let attestationID = try query.get("attestation").map { text throws(HTTPError) in
                guard let id = Int64(text) else {
                    throw HTTPError(.badRequest, message: "attestation must be a number")
                }
                return id
            }
            let following = query.get("follow-image") == "true"
            return try await answer(context) {
                try service.learnPolicy(
                    named: policyName, machineNamed: name, attestationID: attestationID, followingImage: following,
                    by: $0)
            }
        }
        admin.post("machines/:name/image") { request, context in
            let name = try context.parameters.require("name")
            let body = try await APIResponses.decode(
                AdminMessages.ImageAssignment.self, from: request, context: context)
            return try await answer(context) { try service.setImage(machineNamed: name, image: body.image, by: $0) }
        }
        admin.get("images") { _, context in try await answer(context) { try service.images(by: $0) } }
        admin.get("images/:name") { _, context in
            let name = try context.parameters.require("name")
            return try await answer(context) { try service.image(named: name, by: $0) }
        }
        authenticated.put("images/:name") { request, context in
            let name = try context.parameters.require("name")
            guard context.caller != nil else {
                return try APIResponses.refusal(
                    .unauthorized, error: "unauthenticated", reason: "a client certificate is required")
            }
            let upload: String
            do {
                upload = try await ImageUpload.receive(request.body, into: service.uploadFolder, limit: maxImageBytes)
            } catch {
                return try APIResponses.refusal(.contentTooLarge, error: "tooLarge", reason: "\(error)")
            }
            return try await answer(context, status: .created) {
                try service.addImage(named: name, upload: upload, by: $0)
            }
        }
        admin.delete("images/:name") { _, context in
            let name = try context.parameters.require("name")
            return try await answer(context) { caller in
                try service.removeImage(named: name, by: caller)
                return AdminMessages.Done(message: "image \(name) removed")
            }
        }
        admin.get("attestations") { request, context in
            let query = Dictionary(
                request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { $1 })
            return try await answer(context) { try service.attestations(query: query, by: $0) }
        }
        admin.get("attestations/:id") { _, context in
            guard let id = Int64(try context.parameters.require("id")) else {
                return try response(for: .invalid("an attestation ID is a number"))
            }
            return try await answer(context) { try service.attestation(id: id, by: $0) }
        }
        admin.get("clusters") { _, context in try await answer(context) { try service.clusters(by: $0) } }
        admin.post("clusters") { request, context in
            let body = try await APIResponses.decode(AdminMessages.ClusterRequest.self, from: request, context: context)
            return try await answer(context, status: .created) { caller in
                try service.addCluster(body, by: caller)
                return AdminMessages.Done(message: "cluster \(body.name) added")
            }
        }
        admin.get("policies") { _, context in try await answer(context) { try service.policies(by: $0) } }
        admin.post("policies") { request, context in
            let body = try await APIResponses.decode(AdminMessages.PolicyRequest.self, from: request, context: context)
            return try await answer(context) { try service.applyPolicy(body, by: $0) }
        }
        admin.get("policies/:name") { _, context in
            let name = try context.parameters.require("name")
            return try await answer(context) { try service.policy(named: name, by: $0) }
        }
        admin.get("operators") { _, context in try await answer(context) { try service.operators(by: $0) } }
        admin.post("operators") { request, context in
            let body = try await APIResponses.decode(
                AdminMessages.OperatorRequest.self, from: request, context: context)
            return try await answer(context, status: .created) { try service.addOperator(body, by: $0) }
        }
        admin.post("operators/:name/revoke") { _, context in
            let name = try context.parameters.require("name")
            return try await answer(context) { caller in
                AdminMessages.Done(
                    message: "\(try service.revokeOperator(named: name, by: caller)) certificate(s) of \(name) revoked")
            }
        }
        admin.get("audit/export") { request, context in
            guard let caller = context.caller else {
                return try APIResponses.refusal(
                    .unauthorized, error: "unauthenticated", reason: "a client certificate is required")
            }
            let query = request.uri.queryParameters
            let export = AuditExportRequest(from: query.get("from"), to: query.get("to"), machine: query.get("machine"))
            guard let ticket = exports.enter() else {
                var busy = try APIResponses.refusal(
                    .serviceUnavailable, error: "busy",
                    reason: "\(exports.limit) audit exports are being built; retry shortly")
                busy.headers[.retryAfter] = "5"
                return busy
            }
            do {
                let file = try await BlockingPools.export.run { () throws -> String in
                    try service.exportAudit(export, by: caller)
                }
                return try APIResponses.file(file, contentType: "application/gzip", whenSent: ticket.leave)
            } catch let error as AdminError {
                ticket.leave()
                return try response(for: error)
            }
        }
        admin.get("whoami") { _, context in
            try await answer(context) { caller in
                AdminMessages.Caller(name: caller.name, role: caller.role.rawValue, serial: caller.serial)
            }
        }
    }

    /// Runs `body` for the authenticated caller off the event loop; refusals are audited.
    private static func answer<T: Encodable & Sendable>(
        _ context: WardenRequestContext, status: HTTPResponse.Status = .ok,
        _ body: @escaping @Sendable (AdminIdentity) throws -> T
    ) async throws -> Response {
        guard let caller = context.caller else {
            return try APIResponses.refusal(
                .unauthorized, error: "unauthenticated", reason: "a client certificate is required")
        }
        do {
            return try APIResponses.json(
                status, try await BlockingPools.admin.run { () throws -> T in try body(caller) })
        } catch let error as AdminError {
            if case .internalError(let cause) = error {
                // The caller is told only "internal error"; the operator reads why here.
                logger.error("admin call failed", metadata: ["caller": "\(caller.actor)", "cause": "\(cause)"])
            }
            return try response(for: error)
        }
    }

    private static let logger = Logger(label: "warden.admin")

    static func response(for error: AdminError) throws -> Response {
        let (status, code): (HTTPResponse.Status, String) =
            switch error {
            case .unauthenticated: (.unauthorized, "unauthenticated")
            case .forbidden: (.forbidden, "forbidden")
            case .invalid: (.badRequest, "invalid")
            case .notFound: (.notFound, "notFound")
            case .conflict: (.conflict, "conflict")
            case .internalError: (.internalServerError, "internalError")
            case .unavailable: (.serviceUnavailable, "unavailable")
            }
        var response = try APIResponses.refusal(status, error: code, reason: error.description)
        if status == .serviceUnavailable { response.headers[.retryAfter] = "\(APIResponses.databaseRetryAfter)" }
        return response
    }
}

/// Admits admin calls only with a valid, recorded, unrevoked client certificate; a
/// refused call gets 401 or 403 and an audit record — in bounded form (``RefusalAudit``)
/// when nobody authenticated, with the path cut short.
struct AdminAuthenticator: RouterMiddleware {
    let service: AdminService
    let refusals: RefusalAudit
    let logger: Logger

    func handle(
        _ request: Request, context: WardenRequestContext,
        next: (Request, WardenRequestContext) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        let subject = RefusalAudit.bounded(String(path.dropFirst(path.hasPrefix("/v1/") ? 4 : 1)))
        let source = context.sourceAddress
        let certificate = try? await context.channel.nioSSL_peerCertificate().get()
        let caller: AdminIdentity
        do {
            guard let der = try? certificate?.toDERBytes() else {
                throw AdminError.unauthenticated("a client certificate from Warden's client CA is required")
            }
            caller = try await BlockingPools.admin.run { () throws -> AdminIdentity in
                try service.authenticate(certificateDER: der)
            }
        } catch let error as AdminError {
            let actor = certificate == nil ? "anonymous \(source)" : "certificate \(source)"
            try? await BlockingPools.agent.run {
                refusals.refused(
                    .adminUnauthenticated, actor: actor, subject: subject,
                    details: "admin call refused: \(error.description)", source: source)
            }
            return try AdminAPI.response(for: error)
        }
        if request.method != .get && caller.role != .operator {
            let error = AdminError.forbidden("the \(caller.role.rawValue) role may only read")
            logger.warning(
                "admin call refused: \(error.description)",
                metadata: ["method": "\(request.method)", "path": "\(subject)", "caller": "\(caller.actor)"])
            do {
                try await BlockingPools.admin.run {
                    try service.auditRefusal(error, actor: caller.actor, subject: subject)
                }
            } catch let failure {
                logger.error("refusal not audited", metadata: ["caller": "\(caller.actor)", "cause": "\(failure)"])
            }
            return try AdminAPI.response(for: error)
        }
        var context = context
        context.caller = caller
        let response = try await next(request, context)
        logger.info(
            "admin call",
            metadata: [
                "method": "\(request.method)", "path": "\(RefusalAudit.bounded(request.uri.path))",
                "caller": "\(caller.actor)", "status": "\(response.status.code)", "source": "\(source)",
            ])
        return response
    }
}
