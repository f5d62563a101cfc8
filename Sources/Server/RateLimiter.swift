import Foundation
import Synchronization

/// Token buckets per source address. The table of sources is bounded: idle sources are
/// forgotten, and when it is still full new sources are refused rather than let a flood of
/// addresses grow it. What it refused is audited by its caller, in bounded form
/// (``RefusalAudit``).
public final class RateLimiter: Sendable {
    /// What the limiter decided for one request.
    public enum Decision: Equatable, Sendable {
        case allowed
        case refused
    }

    private struct Bucket {
        var tokens: Double
        var updated: TimeInterval
    }

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
                if table.count >= maxSources {
                    table = table.filter { min(burst, $0.value.tokens + (now - $0.value.updated) * rate) < burst }
                }
                guard table.count < maxSources else { return .refused }
                table[source] = Bucket(tokens: burst, updated: now)
            }
            var bucket = table[source]!
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            defer { table[source] = bucket }
            guard bucket.tokens >= 1 else { return .refused }
            bucket.tokens -= 1
            return .allowed
        }
    }
}

/// How fast machines nobody enrolled may be recorded as discovered: per source address,
/// and over all of them, so that a flood from many addresses still grows the database by a
/// bounded amount a minute. One address may spend its minute's pace at once; all of them
/// together a fifth of theirs, so no minute records more than 1.2 times `perMinute`.
public struct DiscoveryPace: Sendable {
    private let perSource: RateLimiter
    private let overall: RateLimiter

    public init(perMinutePerSource: Int, perMinute: Int) {
        perSource = RateLimiter(perSecond: Double(perMinutePerSource) / 60, burst: Double(perMinutePerSource))
        overall = RateLimiter(perSecond: Double(perMinute) / 60, burst: max(1, Double(perMinute) / 5))
    }

    /// Whether `source` may cause one more discovered machine now.
    public func admit(_ source: String) -> Bool {
        perSource.admit(source) == .allowed && overall.admit("all sources") == .allowed
    }
}
