import Dispatch
import Foundation
import NIOPosix
@testable import Server
import Testing

/// Work that prefers a thread pool's executor runs on the pool's threads, and comes back to
/// them after a wait another thread ends; once the pool stopped, it still runs.
@Suite struct ThreadPoolExecutorTests {
    /// The name of the thread this runs on (`Thread.current` is not for async code).
    private static func threadName() -> String { Thread.current.name ?? "" }

    /// Waits for a resumption from a thread of Dispatch's, as a commit's answer comes.
    private static func resumedElsewhere() async {
        await withCheckedContinuation { resumed in DispatchQueue.global().async { resumed.resume() } }
    }

    @Test func workRunsOnThePoolAndResumesThere() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let names = await withTaskExecutorPreference(ThreadPoolExecutor(pool)) {
            let before = Self.threadName()
            await Self.resumedElsewhere()
            return (before, Self.threadName())
        }
        try await pool.shutdownGracefully()
        #expect(names.0.hasPrefix("TP-") && names.1.hasPrefix("TP-"), "ran on \(names.0), then \(names.1)")
    }

    @Test func aStoppedPoolStillRunsTheWork() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        try await pool.shutdownGracefully()
        let name = await withTaskExecutorPreference(ThreadPoolExecutor(pool)) {
            await Self.resumedElsewhere()
            return Self.threadName()
        }
        #expect(!name.hasPrefix("TP-"))
    }
}
