import Hummingbird

/// Counts every `503 Service Unavailable` the HTTPS API answers (`warden_unavailable_total`,
/// listener `api`), whichever route or middleware answered it: the database failing over,
/// the exports busy, the body budget spent.
struct ResponseMetricsMiddleware: RouterMiddleware {
    func handle(
        _ request: Request, context: WardenRequestContext,
        next: (Request, WardenRequestContext) async throws -> Response
    ) async throws -> Response {
        let response = try await next(request, context)
        if response.status == .serviceUnavailable { WardenMetrics.unavailable(listener: "api") }
        return response
    }
}

extension RateLimitMiddleware {
    /// The endpoint a rate-limited path belongs to, for `warden_rate_limited_total`.
    static func endpoint(of path: String) -> String {
        if path.hasPrefix("/v1/agent") { return "agent" }
        if path == "/healthz" || path == "/readyz" { return "health" }
        return "admin"
    }
}
