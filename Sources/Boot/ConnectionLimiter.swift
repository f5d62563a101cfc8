import NIOCore
import Synchronization

/// The connections one TCP listener holds, bounded in total and per source address. When
/// the total is reached, a new connection takes the place of the one that has waited
/// longest without a request under way (in its TLS handshake, or idle between requests):
/// connections that only hold a place cannot keep a working client out. Connections beyond
/// their source's bound, or when every place holds a request under way, are closed at once.
public final class ConnectionLimiter: Sendable {
    /// The bounds.
    public struct Limits: Sendable {
        public var total: Int
        public var perSource: Int

        public init(total: Int, perSource: Int) {
            self.total = total
            self.perSource = perSource
        }
    }

    /// What the limiter has done since it started.
    public struct Statistics: Sendable, Equatable {
        /// Connections closed at once: their source's bound or the total was reached.
        public var refused = 0
        /// Connections closed to make room for a new one.
        public var evicted = 0
        /// Connections closed because a deadline passed (see ``ConnectionGuard``).
        public var timedOut = 0
    }

    private struct Entry {
        let source: String
        let channel: any Channel
        /// When it last became evictable (a handshake or idle wait began), if it is.
        var waitingSince: NIODeadline?
    }

    private struct Table {
        var entries: [ObjectIdentifier: Entry] = [:]
        var bySource: [String: Int] = [:]
        var statistics = Statistics()

        mutating func remove(_ id: ObjectIdentifier) -> Entry? {
            guard let entry = entries.removeValue(forKey: id) else { return nil }
            let left = bySource[entry.source, default: 1] - 1
            bySource[entry.source] = left > 0 ? left : nil
            return entry
        }
    }

    public let limits: Limits
    private let table = Mutex(Table())

    public init(_ limits: Limits) { self.limits = limits }

    /// Connections held now.
    public var count: Int { table.withLock { $0.entries.count } }

    /// A snapshot of the counters.
    public var statistics: Statistics { table.withLock { $0.statistics } }

    /// Admits connection `id` from `source`, making room if needed; false when it must be
    /// closed at once (and then it holds no place).
    func admit(_ id: ObjectIdentifier, source: String, channel: any Channel) -> Bool {
        let (admitted, victim): (Bool, (any Channel)?) = table.withLock { table in
            let fromSource = table.bySource[source, default: 0]
            guard fromSource < limits.perSource else {
                table.statistics.refused += 1
                return (false, nil)
            }
            var victim: (any Channel)?
            if table.entries.count >= limits.total {
                let waiting = table.entries.compactMap { key, entry in entry.waitingSince.map { (key: key, since: $0) }
                }
                guard let oldest = waiting.min(by: { $0.since < $1.since }), let removed = table.remove(oldest.key)
                else {
                    table.statistics.refused += 1
                    return (false, nil)
                }
                table.statistics.evicted += 1
                victim = removed.channel
            }
            table.entries[id] = Entry(source: source, channel: channel, waitingSince: .now())
            table.bySource[source] = fromSource + 1
            return (true, victim)
        }
        victim?.close(promise: nil)
        return admitted
    }

    /// Connection `id` waits for its client (evictable from now), or has a request under way.
    func setWaiting(_ id: ObjectIdentifier, _ waiting: Bool) {
        table.withLock { $0.entries[id]?.waitingSince = waiting ? .now() : nil }
    }

    /// Connection `id` closed.
    func remove(_ id: ObjectIdentifier) {
        table.withLock { _ = $0.remove(id) }
    }

    /// A connection's deadline passed: it is closed.
    func countTimeout() {
        table.withLock { $0.statistics.timedOut += 1 }
    }
}
