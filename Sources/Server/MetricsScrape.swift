import Foundation
import Prometheus
import Synchronization

/// What `GET /metrics` answers: the process's metrics in Prometheus' text format, after
/// the hooks that bring counts kept elsewhere (the boot services', the audit checkpoint's
/// age) up to date. Scrapes block (a hook may read the database): run them off the loop.
public final class MetricsScrape: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let hooks = Mutex<[@Sendable () -> Void]>([])

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Runs `hook` before every scrape.
    public func beforeScrape(_ hook: @escaping @Sendable () -> Void) { hooks.withLock { $0.append(hook) } }

    /// The text exposition format (version 0.0.4).
    func text() -> String {
        for hook in hooks.withLock({ $0 }) { hook() }
        return registry.emitToString()
    }
}
