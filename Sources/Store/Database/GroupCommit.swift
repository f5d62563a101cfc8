import Dispatch
import Synchronization

/// A backend's writer: one write transaction at a time.
protocol WriteTransactions: Sendable {
    /// Runs `body` in one write transaction: committed when it returns, rolled back when it throws.
    func inWriteTransaction(_ body: (SQLTransaction) throws -> Void) throws
}

/// Group commit: writes wait in line, and one committer, on a thread of its own, commits all
/// that wait together, each in its own savepoint, with one durable commit for all of them. A
/// caller is answered only after the commit that holds its write returned, so every write is
/// as durable as if it had committed alone; a write that throws rolls back only itself.
///
/// A caller that awaits its write (the `async` ``write(_:)``) holds no thread meanwhile, so
/// a batch holds every write that arrived during the commit before it, however few threads
/// sent them: an attestation's write waited on one of the agent API's three threads, which
/// made batches of at most three and a durable commit (an `fdatasync` on SQLite, a round trip
/// on PostgreSQL) for every three attestations at best.
///
/// A committer kept busy also waits a moment between commits for more writes (``Gathering``):
/// under a steady load, writes otherwise trickle in one or two per commit, and each commit
/// costs its own durable write and the audit head's signature.
final class GroupCommit: Sendable {
    /// How long a busy committer waits for more writes before its next commit. It waits only
    /// when writes arrived while it committed, and only while fewer than ``enough`` wait: the
    /// first write after a quiet spell, and each write of a caller that sends one after the
    /// other, is committed at once.
    struct Gathering: Sendable {
        /// The longest wait before a commit.
        let window: DispatchTimeInterval
        /// As many writes as this waiting in line end the wait.
        let enough: Int

        /// Measured with `warden-bench attest --concurrency 500` (1,000 attestations/s paced
        /// on 2 cores): the committer's CPU fell from 0.24–0.25 to 0.16–0.19 ms per
        /// attestation with 4 ms; 8 ms saved no more and lengthened the p99.
        static let steadyLoad = Gathering(window: .milliseconds(4), enough: 16)
    }

    /// One caller's write and, once committed, its outcome.
    private final class Pending: @unchecked Sendable {
        let body: (SQLTransaction) throws -> Void
        /// Told, once, after the commit that held the write returned: nil when it committed.
        let finished: @Sendable ((any Error)?) -> Void
        /// Set by the committer only, before `finished`.
        var failure: (any Error)?

        init(_ body: @escaping (SQLTransaction) throws -> Void, finished: @escaping @Sendable ((any Error)?) -> Void) {
            self.body = body
            self.finished = finished
        }
    }

    private struct Line {
        var waiting: [Pending] = []
        var committing = false
        /// The committer waits for ``Gathering/enough`` writes (``gatherMore()``).
        var awaitingMore = false
    }

    /// At most this many writes share one commit.
    static let maxBatch = 256
    private let writer: any WriteTransactions
    private let line = Mutex(Line())
    /// Where the committer runs: never a caller's thread, so that a caller is never kept
    /// committing others' writes for as long as more keep arriving.
    private let committer = DispatchQueue(label: "warden.store.group-commit", qos: .userInitiated)
    private let beforeCommit: (@Sendable (SQLTransaction) throws -> Void)?
    private let gathering: Gathering
    /// Signalled once by the write that makes a gathering committer's line long enough.
    private let enoughWaiting = DispatchSemaphore(value: 0)

    /// `beforeCommit` runs in every batch's transaction after its writes (to sign the audit
    /// chain's head, say); when it throws, the whole batch fails.
    init(
        _ writer: any WriteTransactions, gathering: Gathering = .steadyLoad,
        beforeCommit: (@Sendable (SQLTransaction) throws -> Void)? = nil
    ) {
        self.writer = writer
        self.gathering = gathering
        self.beforeCommit = beforeCommit
    }

    /// Runs `body` in a transaction shared with concurrent writes; returns after it is
    /// committed, blocking the calling thread until then.
    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) throws -> T {
        // A write inside a write would wait for the committer that runs it, forever.
        dispatchPrecondition(condition: .notOnQueue(committer))
        let result = WriteResult<T>()
        let done = DispatchSemaphore(value: 0)
        let pending = Pending({ db in result.value = try body(db) }) { _ in done.signal() }
        enqueue(pending)
        done.wait()
        if let failure = pending.failure { throw failure }
        return try result.take()
    }

    /// Runs `body` in a transaction shared with concurrent writes; returns after it is
    /// committed, holding no thread until then.
    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) async throws -> T {
        let result = WriteResult<T>()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(
                Pending({ db in result.value = try body(db) }) { error in
                    if let error { continuation.resume(throwing: error) } else { continuation.resume() }
                })
        }
        return try result.take()
    }

    /// Puts `pending` in line, and starts the committer when it is not running.
    private func enqueue(_ pending: Pending) {
        let (start, enough) = line.withLock { line in
            line.waiting.append(pending)
            if line.awaitingMore, line.waiting.count >= gathering.enough {
                line.awaitingMore = false
                return (false, true)
            }
            if line.committing { return (false, false) }
            line.committing = true
            return (true, false)
        }
        if enough { enoughWaiting.signal() }
        if start { committer.async { self.commitWhileWaiting() } }
    }

    /// After a commit: when writes arrived meanwhile, waits up to the gathering window until
    /// enough wait in line.
    private func gatherMore() {
        let gathers = line.withLock { line in
            line.awaitingMore = !line.waiting.isEmpty && line.waiting.count < gathering.enough
            return line.awaitingMore
        }
        guard gathers, enoughWaiting.wait(timeout: .now() + gathering.window) == .timedOut else { return }
        // A write may have signalled after the wait timed out: that signal must be taken
        // now, or the next gathering would end at once.
        let signalled = line.withLock { line in
            defer { line.awaitingMore = false }
            return !line.awaitingMore
        }
        if signalled { enoughWaiting.wait() }
    }

    /// Commits batches until nobody waits, gathering more between them.
    private func commitWhileWaiting() {
        while true {
            let batch: [Pending] = line.withLock { line in
                let taken = Array(line.waiting.prefix(Self.maxBatch))
                line.waiting.removeFirst(taken.count)
                if taken.isEmpty { line.committing = false }
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
                StoreMetrics.commits.increment()
                StoreMetrics.committedWrites.increment(by: batch.count { $0.failure == nil })
            } catch {
                for pending in batch where pending.failure == nil { pending.failure = error }
            }
            for pending in batch { pending.finished(pending.failure) }
            gatherMore()
        }
    }
}

/// What one grouped write returned: set by the committer inside the transaction, taken by
/// the caller after the commit's answer reached it (never both at once).
private final class WriteResult<T>: @unchecked Sendable {
    var value: T?

    func take() throws -> T {
        guard let value else { throw StoreError.database("a grouped write produced no result") }
        return value
    }
}
