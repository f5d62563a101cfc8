import Metrics

/// The service's metric families, named as Prometheus names them (base units; counters end
/// in `_total`). Those of the store (`warden_database_transaction_duration_seconds`,
/// `warden_audit_records_total`, `warden_database_commits_total`,
/// `warden_database_committed_writes_total`) and of the boot services (``BootMetrics``) live
/// beside their counts. Without a metrics backend (tests, tools) they cost nothing.
enum WardenMetrics {
    /// A verdict recorded, or a request refused before one could be (`reason`: the refusal
    /// class, `none` for a pass).
    static func attestation(verdict: String, reason: String) {
        Counter(label: "warden_attestations_total", dimensions: [("verdict", verdict), ("reason", reason)]).increment()
    }

    static let releases = Counter(label: "warden_releases_total")

    /// From the quote's arrival to the verdict recorded (and the release sealed).
    static let attestationDuration = Metrics.Timer(label: "warden_attestation_duration_seconds")

    /// A request refused by the rate limit, by endpoint (`agent`, `admin`, `health`).
    static func rateLimited(endpoint: String) {
        Counter(label: "warden_rate_limited_total", dimensions: [("endpoint", endpoint)]).increment()
    }

    /// A `503 Service Unavailable` answered, by listener (`api`, `boot-http`).
    static func unavailable(listener: String, count: Int = 1) {
        Counter(label: "warden_unavailable_total", dimensions: [("listener", listener)]).increment(by: count)
    }
}
