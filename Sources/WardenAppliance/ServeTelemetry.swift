import Logging
import Metrics
import Prometheus
import Server

/// `warden serve`'s log and metrics: every logger of the process writes structured lines to
/// standard error, in the configured format from the configured level on; every metric goes
/// to one Prometheus registry, which `GET /metrics` reads.
enum ServeTelemetry {
    /// Installs the Prometheus backend (once per process, before any metric is made).
    static func startMetrics() -> MetricsScrape {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Most transactions and attestations take milliseconds, below the default buckets.
        let fine: [Duration] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.durationHistogramBuckets = [
            "warden_database_transaction_duration_seconds": fine, "warden_attestation_duration_seconds": fine,
        ]
        MetricsSystem.bootstrap(factory)
        return MetricsScrape(registry: registry)
    }

    /// Installs the handler (once per process) and returns the server's own logger.
    static func start(_ configuration: WardenConfiguration) -> Logger {
        let format = StructuredLogHandler.Format(rawValue: configuration.logFormat) ?? .logfmt
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LogOutput.standardError.use(format)
        LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, format: format, level: level) }
        return Logger(label: "warden.server")
    }
}
