import Foundation
import Testing

/// A task executor with a thread of its own. swift-testing runs synchronous tests on the
/// cooperative pool, which has two threads on a 2-core machine; while two of them block (a
/// CLI run, a server start), an async test cannot resume after any `await`, and on a loaded
/// CI machine that lasted 82 s: longer than a nonce lives or a refusal window lasts. Jobs
/// preferring this executor run on its thread whatever the pool is doing. One thread runs
/// them all: a job that blocks its thread until another of its jobs has run never returns.
public final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    /// Whether the thread runs: it ends when the queue is empty after ``finish()``, and a
    /// later job starts another.
    private var threadRunning = false
    private var finishing = false

    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        let start = !threadRunning
        threadRunning = true
        condition.signal()
        condition.unlock()
        if start {
            let thread = Thread { [self] in runJobs() }
            thread.name = "test executor"
            thread.start()
        }
    }

    /// Lets the thread end once it has no job left.
    public func finish() {
        condition.lock()
        finishing = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finishing { condition.wait() }
            guard !jobs.isEmpty else {
                threadRunning = false
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs each test of a suite, and every child task it makes, on a ``DedicatedThreadExecutor``
/// of its own, so that what it awaits resumes however busy the cooperative pool is.
public struct DedicatedThreadTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        let executor = DedicatedThreadExecutor()
        defer { executor.finish() }
        try await withTaskExecutorPreference(executor) { try await function() }
    }
}

extension Trait where Self == DedicatedThreadTrait {
    /// Each test on a thread of its own (``DedicatedThreadTrait``).
    public static var dedicatedThread: Self { DedicatedThreadTrait() }
}
