import Hummingbird
import NIOCore

/// Each request's context: its connection (for the client certificate and the source
/// address) and, once the admin authenticator has run, who is calling.
public struct WardenRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TLS connection the request came on.
    public let channel: any Channel
    /// The authenticated operator or auditor, on admin routes.
    public var caller: AdminIdentity?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var remoteAddress: SocketAddress? { channel.remoteAddress }

    /// The ceiling; ``BodyLimitMiddleware`` applies the configured limit below it.
    public var maxUploadSize: Int { 64 * 1024 * 1024 }

    /// The source address rate limits key on.
    var sourceAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}

/// Refuses bodies larger than the configured limit (413) before anything reads them, and
/// bodies without a declared length (411); holds each body it reads within a ``BodyBudget``
/// shared by every connection, and answers 503 with `Retry-After` when it is spent.
struct BodyLimitMiddleware: RouterMiddleware {
    let limit: Int
    let budget: BodyBudget

    func handle(
        _ request: Request, context: WardenRequestContext,
        next: (Request, WardenRequestContext) async throws -> Response
    ) async throws -> Response {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit {
            throw HTTPError(.contentTooLarge, message: "the body exceeds \(limit) bytes")
        }
        if declared == nil, request.headers[.transferEncoding] != nil {
            throw HTTPError(.lengthRequired, message: "a body must declare its length (Content-Length)")
        }
        guard let length = declared, length > 0 else { return try await next(request, context) }
        let source = context.sourceAddress
        guard budget.reserve(length, for: source) else {
            var busy = try APIResponses.refusal(
                .serviceUnavailable, error: "busy", reason: "too many request bodies in flight; retry shortly")
            busy.headers[.retryAfter] = "1"
            return busy
        }
        defer { budget.release(length, for: source) }
        // Into a buffer of the declared size: what is held is what the budget counted, not
        // the doubling growth of a buffer that starts small.
        var body = ByteBuffer()
        body.reserveCapacity(length)
        try await request.body.collect(upTo: limit, into: &body)
        var request = request
        request.body = .init(buffer: body)
        return try await next(request, context)
    }
}
