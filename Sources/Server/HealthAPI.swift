import Hummingbird
import Store

/// `/healthz` (the process is up) and `/readyz` (the database takes writes; the keys were
/// loaded before the listener opened): for a load balancer or systemd, without a client
/// certificate, each `200` or `503`. Nothing secret and nothing about machines is said.
enum HealthAPI {
    static func addRoutes(to router: Router<WardenRequestContext>, store: EnrolmentStore, limiter: RateLimitMiddleware)
    {
        let health = router.group().add(middleware: limiter)
        health.get("healthz") { _, _ in try APIResponses.json(.ok, Health(status: "up")) }
        health.get("readyz") { _, _ -> Response in
            do {
                try await BlockingPools.agent.run { try store.checkWritable() }
                return try APIResponses.json(.ok, Health(status: "ready"))
            } catch {
                var response = try APIResponses.refusal(
                    .serviceUnavailable, error: "unavailable", reason: "the database does not take writes now")
                response.headers[.retryAfter] = "\(APIResponses.databaseRetryAfter)"
                return response
            }
        }
    }

    private struct Health: Codable, Sendable {
        let status: String
    }
}
