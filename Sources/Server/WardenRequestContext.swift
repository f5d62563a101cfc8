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

/// Refuses bodies larger than the configured limit (413) before anything reads them.
struct BodyLimitMiddleware: RouterMiddleware {
    let limit: Int

    func handle(_ request: Request, context: WardenRequestContext, next: (Request, WardenRequestContext) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw HTTPError(.contentTooLarge, message: "the body exceeds \(limit) bytes")
        }
        var request = request
        _ = try await request.collectBody(upTo: limit)
        return try await next(request, context)
    }
}
