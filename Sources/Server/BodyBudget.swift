import Synchronization

/// The request bodies held in memory at once, in bytes, over every connection, and the share
/// one source address may hold (a quarter): a client that declares large bodies and sends
/// them slowly, on many connections, holds at most its share, and answers are 503 beyond.
final class BodyBudget: Sendable {
    let bytes: Int
    var perSource: Int { bytes / 4 }
    private let held = Mutex<(total: Int, bySource: [String: Int])>((0, [:]))

    init(bytes: Int) { self.bytes = bytes }

    /// Takes `count` bytes for a body from `source`; false when the budget or the source's
    /// share would be exceeded.
    func reserve(_ count: Int, for source: String) -> Bool {
        held.withLock { held in
            let fromSource = held.bySource[source, default: 0]
            guard held.total + count <= bytes, fromSource + count <= perSource else { return false }
            held.total += count
            held.bySource[source] = fromSource + count
            return true
        }
    }

    /// Gives back what ``reserve(_:for:)`` took.
    func release(_ count: Int, for source: String) {
        held.withLock { held in
            held.total -= count
            let left = held.bySource[source, default: count] - count
            held.bySource[source] = left > 0 ? left : nil
        }
    }
}
