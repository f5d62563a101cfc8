import Foundation
import Logging
import Synchronization

/// What an appliance's log says of its database's outages: one line when requests begin to
/// meet one (no server found writable, with why each host was passed over and the lost
/// connection that led there) and one when a writable server is found again, however many
/// requests meet it. A connection lost and replaced at once is no outage and says nothing;
/// nor does a database that was never reached (the start's own error says so).
final class PostgresOutageLog: Sendable {
    private struct State {
        var everConnected = false
        /// When the outage being logged began; nil while there is none.
        var since: ContinuousClock.Instant?
        /// When a writable server was last found.
        var lastWritable: ContinuousClock.Instant?
        /// What failed on the connection lost last, for the line of an outage it leads to.
        var lostConnection: String?
    }

    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// A connection was given up because of `cause`.
    func lost(_ cause: String) { state.withLock { $0.lostConnection = cause } }

    /// A search for the writable server that began at `began` found none (`cause`, each host
    /// and why): logged as an outage's beginning unless one is logged already, or another
    /// search found a writable server meanwhile.
    func noneWritable(_ cause: String, searchBegan began: ContinuousClock.Instant) {
        // Outer nil: nothing to log; inner: the lost connection's cause, if one was lost.
        let begins: String?? = state.withLock { state in
            guard state.everConnected, state.since == nil, !(state.lastWritable.map { $0 > began } ?? false) else {
                return .none
            }
            state.since = .now
            return .some(state.lostConnection)
        }
        guard case .some(let lostConnection) = begins else { return }
        var metadata: Logger.Metadata = ["cause": "\(cause)"]
        if let lostConnection { metadata["lost"] = "\(lostConnection)" }
        logger.warning("database unavailable", metadata: metadata)
    }

    /// `host` was found writable: the end of the outage being logged, if there is one.
    func writable(_ host: PostgresLocation.Host) {
        let since = state.withLock { state in
            defer {
                state.everConnected = true
                state.lastWritable = .now
                state.since = nil
                state.lostConnection = nil
            }
            return state.since
        }
        guard let since else { return }
        let seconds = (ContinuousClock.now - since) / .seconds(1)
        logger.notice(
            "database available again", metadata: ["host": "\(host)", "after": "\(String(format: "%.1f", seconds)) s"])
    }
}
