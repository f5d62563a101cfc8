import Dispatch
import Synchronization

/// A backend's writer: one write transaction at a time.
protocol WriteTransactions: Sendable {
    /// Runs `body` in one write transaction: committed when it returns, rolled back when it throws.
    func inWriteTransaction(_ body: (SQLTransaction) throws -> Void) throws
}

/// Group commit: writes that arrive while a commit is under way wait and then commit
/// together, each in its own savepoint, with one durable commit for all of them. A caller is
/// answered only after the commit that holds its write returned, so every write is as
/// durable as if it had committed alone; a write that throws rolls back only itself.
final class GroupCommit: Sendable {
    /// One caller's write and, once committed, its outcome.
    private final class Pending: @unchecked Sendable {
        let body: (SQLTransaction) throws -> Void
        var failure: (any Error)?
        let done = DispatchSemaphore(value: 0)
        init(_ body: @escaping (SQLTransaction) throws -> Void) { self.body = body }
    }

    private struct Queue {
        var waiting: [Pending] = []
        var leaderActive = false
    }

    /// At most this many writes share one commit.
    static let maxBatch = 256
    private let writer: any WriteTransactions
    private let queue = Mutex(Queue())
    private let beforeCommit: (@Sendable (SQLTransaction) throws -> Void)?

    /// `beforeCommit` runs in every batch's transaction after its writes (to sign the audit
    /// chain's head, say); when it throws, the whole batch fails.
    init(_ writer: any WriteTransactions, beforeCommit: (@Sendable (SQLTransaction) throws -> Void)? = nil) {
        self.writer = writer
        self.beforeCommit = beforeCommit
    }

    /// Runs `body` in a transaction shared with concurrent writes; returns after it is committed.
    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) throws -> T {
        nonisolated(unsafe) var result: T?
        let pending = Pending { db in result = try body(db) }
        let lead = queue.withLock { queue in
            queue.waiting.append(pending)
            if queue.leaderActive { return false }
            queue.leaderActive = true
            return true
        }
        if lead { commitWhileWaiting() }
        pending.done.wait()
        if let failure = pending.failure { throw failure }
        guard let result else { throw StoreError.database("a grouped write produced no result") }
        return result
    }

    /// The leader commits batches until nobody waits.
    private func commitWhileWaiting() {
        while true {
            let batch: [Pending] = queue.withLock { queue in
                let taken = Array(queue.waiting.prefix(Self.maxBatch))
                queue.waiting.removeFirst(taken.count)
                if taken.isEmpty { queue.leaderActive = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                try writer.inWriteTransaction { db in
                    // A savepoint of each write's own: a write that fails rolls back to
                    // its own, never to an earlier write's (a SAVEPOINT that failed unseen
                    // makes the ROLLBACK TO fail, and with it the whole batch). None is
                    // released: the commit ends them all, and on PostgreSQL a RELEASE was one
                    // more round trip per write in the writer every appliance waits for.
                    for (index, pending) in batch.enumerated() {
                        try db.enqueue(sql: "SAVEPOINT grouped\(index)")
                        let (auditHead, removedAppliances) = (db.memo.auditHead, db.memo.removedAppliances)
                        do {
                            try pending.body(db)
                        } catch {
                            pending.failure = error
                            try db.execute(sql: "ROLLBACK TO SAVEPOINT grouped\(index)")
                            (db.memo.auditHead, db.memo.removedAppliances) = (auditHead, removedAppliances)
                        }
                    }
                    try self.beforeCommit?(db)
                }
            } catch {
                for pending in batch where pending.failure == nil { pending.failure = error }
            }
            for pending in batch { pending.done.signal() }
        }
    }
}
