import Foundation
import Hummingbird
import Store
import Synchronization

/// `/healthz` (the process is up) and `/readyz` (the database takes writes; the keys were
/// loaded before the listener opened): for a load balancer or systemd, without a client
/// certificate, each `200` or `503`. Nothing secret and nothing about machines is said.
enum HealthAPI {
    static func addRoutes(to router: Router<WardenRequestContext>, store: EnrolmentStore, limiter: RateLimitMiddleware)
    {
        let health = router.group().add(middleware: limiter)
        let readiness = Readiness(store: store)
        health.get("healthz") { _, _ in try APIResponses.json(.ok, Health(status: "up")) }
        health.get("readyz") { _, _ -> Response in
            if await readiness.isReady() {
                return try APIResponses.json(.ok, Health(status: "ready"))
            } else {
                var response = try APIResponses.refusal(
                    .serviceUnavailable, error: "unavailable", reason: "the database does not take writes now")
                response.headers[.retryAfter] = "\(APIResponses.databaseRetryAfter)"
                return response
            }
        }
    }

    /// Whether the database takes writes, asked of it at most once a second: the check uses
    /// the writer every attestation waits for, and anyone who reaches the API may ask.
    private final class Readiness: Sendable {
        static let maxAge: TimeInterval = 1
        private let store: EnrolmentStore
        private let last = Mutex<(at: Date, ready: Bool)?>(nil)

        init(store: EnrolmentStore) { self.store = store }

        func isReady(now: Date = Date()) async -> Bool {
            if let last = last.withLock({ $0 }), now.timeIntervalSince(last.at) < Self.maxAge { return last.ready }
            let ready = (try? await BlockingPools.agent.run { [store] in try store.checkWritable() }) != nil
            last.withLock { $0 = (now, ready) }
            return ready
        }
    }

    private struct Health: Codable, Sendable {
        let status: String
    }
}
