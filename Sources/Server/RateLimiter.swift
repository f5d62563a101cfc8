import Foundation
import Synchronization

/// Token buckets per source address for the unauthenticated endpoints. The table of
/// sources is bounded: idle sources are forgotten, and when it is still full new sources
/// are refused rather than let a flood of addresses grow it.
public final class RateLimiter: Sendable {
    /// What the limiter decided for one request.
    public enum Decision: Equatable, Sendable {
        case allowed
        /// Refused; `firstInWindow` is true once per source per ``refusalWindow``, so that
        /// only that refusal is audited and the rest are counted.
        case refused(firstInWindow: Bool, refusedSinceLastRecord: Int)
    }

    private struct Bucket {
        var tokens: Double
        var updated: TimeInterval
        var windowStart: TimeInterval = -.infinity
        var refusedInWindow = 0
    }

    public static let refusalWindow: TimeInterval = 60
    private let rate: Double
    private let burst: Double
    private let maxSources: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(perSecond rate: Double, burst: Double, maxSources: Int = 65_536) {
        self.rate = rate
        self.burst = burst
        self.maxSources = maxSources
    }

    /// Takes one token from `source`'s bucket at time `now` (seconds, monotonic).
    public func admit(_ source: String, now: TimeInterval = ProcessInfo.processInfo.systemUptime) -> Decision {
        buckets.withLock { table in
            if table[source] == nil {
                if table.count >= maxSources { table = table.filter { min(burst, $0.value.tokens + (now - $0.value.updated) * rate) < burst } }
                guard table.count < maxSources else { return .refused(firstInWindow: false, refusedSinceLastRecord: 0) }
                table[source] = Bucket(tokens: burst, updated: now)
            }
            var bucket = table[source]!
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            defer { table[source] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return .allowed
            }
            bucket.refusedInWindow += 1
            guard now - bucket.windowStart >= Self.refusalWindow else { return .refused(firstInWindow: false, refusedSinceLastRecord: bucket.refusedInWindow) }
            let counted = bucket.refusedInWindow
            bucket.windowStart = now
            bucket.refusedInWindow = 0
            return .refused(firstInWindow: true, refusedSinceLastRecord: counted)
        }
    }
}
