import NIOPosix

/// Threads for blocking work (SQLite, verification, file reads), never an event loop or the
/// cooperative pool. Agents, operators and audit exports each have their own, so that six
/// auditors exporting a large chain at once cannot make a booting machine wait for its key.
enum BlockingPools {
    /// The agent API and what anonymous requests cost (refusal audits). More threads than
    /// cores, since a thread waiting for SQLite's fsync uses no CPU, but few: each extra
    /// thread is another context switch per request (measured: 4 threads served 1,172/s
    /// where 16 served 1,060–1,092/s).
    static let agent = started(threads: 4)
    /// Admin calls.
    static let admin = started(threads: 2)
    /// Building and streaming audit exports (``ExportGate`` bounds how many at once).
    static let export = started(threads: 2)

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
