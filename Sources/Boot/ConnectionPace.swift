import NIOCore

/// How fast one source address may start connections: `burst` at once, then one every
/// `interval` (the generic cell rate algorithm). A connection ahead of its source's pace is
/// not refused but waits for its turn, unless that turn is further away than the caller
/// allows; then it is refused and takes no turn. What a listener spends on a source's new
/// connections (a TLS handshake above all) is then bounded per source, however fast that
/// source reconnects.
struct ConnectionPace {
    let interval: TimeAmount
    let burst: Int
    /// Per source, when its next connection would be due were every earlier one spaced by
    /// `interval`; a source whose time has passed is as one never seen.
    private var due: [String: NIODeadline] = [:]
    /// The table's size at which the sources whose time has passed are forgotten.
    private var sweepAt = Self.smallestSweep
    private static let smallestSweep = 1_024

    /// The sources remembered now.
    var sources: Int { due.count }

    /// `perSecond` connections a second from one source, on average, after `burst` at once.
    init(perSecond: Double, burst: Int) {
        precondition(perSecond >= 0.001 && perSecond <= 1e9, "a pace of \(perSecond) connections a second")
        interval = .nanoseconds(Int64(1e9 / perSecond))
        self.burst = max(1, burst)
    }

    /// How long a connection from `source` that arrives `now` waits for its turn (zero: it
    /// starts at once), having taken that turn; nil, taking nothing, when it would wait
    /// longer than `longest`.
    mutating func turn(for source: String, now: NIODeadline, longest: TimeAmount) -> TimeAmount? {
        let next = max(due[source] ?? now, now)
        let wait = max(.zero, next - now - interval * Int64(burst - 1))
        guard wait <= longest else { return nil }
        due[source] = next + interval
        if due.count >= sweepAt {
            due = due.filter { $0.value > now }
            sweepAt = max(Self.smallestSweep, due.count * 2)
        }
        return wait
    }
}
