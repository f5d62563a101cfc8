import NIOCore
import Synchronization

/// The connections one TCP listener holds, bounded in total and per source address, and
/// optionally paced per source address (``ConnectionPace``: `perSource` at once, then
/// `perSourcePerSecond`; a connection ahead of its pace reads nothing until its turn). When
/// the total is reached, a new connection takes the place of the one that has waited
/// longest without a request under way (its turn, its TLS handshake, or idle between
/// requests): connections that only hold a place cannot keep a working client out.
/// Connections beyond their source's bound, whose turn is further away than they may wait,
/// or when every place holds a request under way, are closed at once.
public final class ConnectionLimiter: Sendable {
    /// The bounds.
    public struct Limits: Sendable {
        public var total: Int
        public var perSource: Int
        /// New connections a second one source may start once it started `perSource` at
        /// once (nil: as many as it likes).
        public var perSourcePerSecond: Double?

        public init(total: Int, perSource: Int, perSourcePerSecond: Double? = nil) {
            self.total = total
            self.perSource = perSource
            self.perSourcePerSecond = perSourcePerSecond
        }
    }

    /// What the limiter has done since it started.
    public struct Statistics: Sendable, Equatable {
        /// Connections closed at once: their source's bound or the total was reached, or
        /// their turn was too far away.
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
        var pace: ConnectionPace?
        var statistics = Statistics()

        /// The connection that has waited longest without a request under way, if any.
        var longestWaiting: ObjectIdentifier? {
            entries.compactMap { key, entry in entry.waitingSince.map { (key: key, since: $0) } }
                .min(by: { $0.since < $1.since })?.key
        }

        mutating func remove(_ id: ObjectIdentifier) -> Entry? {
            guard let entry = entries.removeValue(forKey: id) else { return nil }
            let left = bySource[entry.source, default: 1] - 1
            bySource[entry.source] = left > 0 ? left : nil
            return entry
        }
    }

    public let limits: Limits
    private let table: Mutex<Table>

    public init(_ limits: Limits) {
        self.limits = limits
        let pace = limits.perSourcePerSecond.map { ConnectionPace(perSecond: $0, burst: limits.perSource) }
        table = Mutex(Table(pace: pace))
    }

    /// Connections held now.
    public var count: Int { table.withLock { $0.entries.count } }

    /// A snapshot of the counters.
    public var statistics: Statistics { table.withLock { $0.statistics } }

    /// Admits connection `id` from `source`, making room if needed: how long it waits for
    /// its turn before reading anything (at most `longestWait`), or nil when it must be
    /// closed at once (and then it holds no place).
    func admit(_ id: ObjectIdentifier, source: String, channel: any Channel, longestWait: TimeAmount) -> TimeAmount? {
        let (wait, victim): (TimeAmount?, (any Channel)?) = table.withLock { table in
            let withinSource = table.bySource[source, default: 0] < limits.perSource
            let full = table.entries.count >= limits.total
            // When full, the place of the connection that has waited longest (none: refused).
            let victim = withinSource && full ? table.longestWaiting : nil
            // The turn is taken last: a connection refused for any reason takes none.
            guard withinSource, !full || victim != nil,
                let wait = table.pace == nil ? .zero : table.pace?.turn(for: source, now: .now(), longest: longestWait)
            else {
                table.statistics.refused += 1
                return (nil, nil)
            }
            let evicted = victim.flatMap { table.remove($0) }
            if evicted != nil { table.statistics.evicted += 1 }
            table.entries[id] = Entry(source: source, channel: channel, waitingSince: .now())
            table.bySource[source, default: 0] += 1
            return (wait, evicted?.channel)
        }
        victim?.close(promise: nil)
        return wait
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
