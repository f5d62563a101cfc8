import Dispatch
import NIOPosix
import Store

/// Threads for blocking work (SQLite, verification, file reads), never an event loop or the
/// cooperative pool. Agents, operators and audit exports each have their own, so that six
/// auditors exporting a large chain at once cannot make a booting machine wait for its key.
enum BlockingPools {
    /// The agent API and what anonymous requests cost (refusal audits). One thread more than
    /// the cores, since a thread waiting for SQLite's page reads uses no CPU, but no more:
    /// each extra thread is another context switch per request. Measured in turns of
    /// `warden-bench attest --concurrency 50` once attestations awaited their commits
    /// holding no thread: 2 and 4 threads cost 0.84–0.98 and 0.86–1.02 ms of CPU per
    /// attestation where 3 cost 0.74–0.86 ms (2 also made commits hold half as many).
    static let agent = started(threads: 3)
    /// The agent API on a shared database (``agentRequests(on:)``), started when first used:
    /// there a request spends most of its time waiting for PostgreSQL's answers, which costs
    /// no CPU, so more requests must be under way to keep the cores busy (measured with
    /// `warden-bench attest --database postgres --concurrency 50`: 16 threads served
    /// 262–279/s where 4 served 165–237/s).
    private static let agentOnSharedDatabase = started(threads: 16)
    /// Admin calls.
    static let admin = started(threads: 2)
    /// Building and streaming audit exports (``ExportGate`` bounds how many at once).
    static let export = started(threads: 2)

    /// The pool agents' requests run on, for `store`'s backend.
    static func agentRequests(on store: EnrolmentStore) -> NIOThreadPool {
        store.isShared ? agentOnSharedDatabase : agent
    }

    private static func started(threads: Int) -> NIOThreadPool {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        return pool
    }
}

extension NIOThreadPool {
    /// Runs blocking `body` on this pool.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await runIfActive(body)
    }
}

/// A task executor whose jobs run on a thread pool: an async function run with it preferred
/// (`withTaskExecutorPreference`) does its blocking work on the pool's threads and resumes
/// there after each wait, never on the cooperative pool, which a blocking call there would
/// hold up and which may be busy when a wait ends.
final class ThreadPoolExecutor: TaskExecutor {
    private let pool: NIOThreadPool

    init(_ pool: NIOThreadPool) { self.pool = pool }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pool.submit { state in
            let run: @Sendable () -> Void = { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
            // A pool that stopped runs nothing, and calls this at once on the thread that
            // enqueued the job (the store's committer, say, which must not wait for itself):
            // the job then runs on a thread of Dispatch's, rather than never or there.
            if case .cancelled = state { DispatchQueue.global().async(execute: run) } else { run() }
        }
    }
}
