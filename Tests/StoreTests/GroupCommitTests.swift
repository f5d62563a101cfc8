import Foundation
import GRDB
@testable import Store
import Synchronization
import Testing
import TestSupport

/// Writes in line for one writer: callers that await their write share commits, however few
/// threads sent them, and each is answered with its own result or its own failure.
@Suite struct GroupCommitTests {
    /// A writer on SQLite's C interface that counts its transactions.
    private final class CountingWriter: WriteTransactions {
        let connection: Store.SQLiteConnection
        let transactions = Mutex(0)

        init(path: String) throws {
            try DatabasePool(path: path).write { db in
                try db.execute(sql: "CREATE TABLE written (n INTEGER PRIMARY KEY)")
            }
            connection = try SQLiteConnection(path: path, writable: true)
        }

        func inWriteTransaction(_ body: (SQLTransaction) throws -> Void) throws {
            transactions.withLock { $0 += 1 }
            try connection.inWriteTransaction(body)
        }
    }

    private struct Refused: Error, Equatable {
        let n: Int
    }

    /// 200 writes awaited at once: every fourth throws and is rolled back alone, each caller
    /// gets its own answer, and the writes share far fewer commits than there are writes.
    @Test func awaitedWritesShareCommitsAndEachGetsItsOwnAnswer() async throws {
        let path = try TestPaths.temporaryDirectory("group-commit").appendingPathComponent("written.sqlite").path
        let writer = try CountingWriter(path: path)
        let line = GroupCommit(writer)
        let answers = await withTaskGroup(of: (Int, Result<Int, any Error>).self) { group in
            for n in 0..<200 {
                group.addTask {
                    do {
                        return (
                            n,
                            .success(
                                try await line.write { db in
                                    try db.execute(sql: "INSERT INTO written VALUES (?)", arguments: [n])
                                    if n % 4 == 0 { throw Refused(n: n) }
                                    return n * 2
                                })
                        )
                    } catch {
                        return (n, .failure(error))
                    }
                }
            }
            return await group.reduce(into: [Int: Result<Int, any Error>]()) { $0[$1.0] = $1.1 }
        }
        for n in 0..<200 {
            if n % 4 == 0 {
                #expect(throws: Refused(n: n)) { try answers[n]?.get() }
            } else {
                #expect(try answers[n]?.get() == n * 2)
            }
        }
        let kept = try await DatabaseQueue(path: path).read { db in try Int.fetchAll(db, sql: "SELECT n FROM written") }
        #expect(kept.sorted() == (0..<200).filter { $0 % 4 != 0 })
        let transactions = writer.transactions.withLock { $0 }
        #expect(transactions < 100, "200 awaited writes took \(transactions) commits")
    }

    /// A caller that blocks on its write and callers that await theirs share one line.
    @Test func blockingAndAwaitedWritesShareOneLine() async throws {
        let path = try TestPaths.temporaryDirectory("group-commit-mixed").appendingPathComponent("written.sqlite").path
        let writer = try CountingWriter(path: path)
        let line = GroupCommit(writer)
        let blocking = Task.detached {
            for n in 0..<50 {
                _ = try line.write { db in try db.execute(sql: "INSERT INTO written VALUES (?)", arguments: [n]) }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 50..<150 {
                group.addTask {
                    _ = try await line.write { db in
                        try db.execute(sql: "INSERT INTO written VALUES (?)", arguments: [n])
                    }
                }
            }
            try await group.waitForAll()
        }
        try await blocking.value
        let count = try await line.write { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM written") }
        #expect(count == 150)
        let transactions = writer.transactions.withLock { $0 }
        #expect(transactions < 140, "151 writes took \(transactions) commits")
    }

    /// Writes that arrive while the committer commits make it wait for more: the one that
    /// arrived then and two that trickle in after it share one commit, and the last of them,
    /// which makes enough, ends the wait. A caller that writes one after the other is not held
    /// for the window.
    ///
    /// Each wait is measured from the caller's call to its body's start on the committer's own
    /// thread, so a cooperative pool kept busy by other tests lengthens none of them; the
    /// windows are long enough that such a pool cannot end a gathering before its writes came.
    @Test func aBusyCommitterGathersWritesThatTrickleIn() async throws {
        let path = try TestPaths.temporaryDirectory("group-commit-gathered").appendingPathComponent("written.sqlite")
            .path
        let writer = try CountingWriter(path: path)
        let insert: @Sendable (GroupCommit, Int) async throws -> Duration = { line, n in
            let called = ContinuousClock.now
            return try await line.write { db in
                let waited = called.duration(to: .now)
                try db.execute(sql: "INSERT INTO written VALUES (?)", arguments: [n])
                return waited
            }
        }
        let quiet = GroupCommit(writer, gathering: .init(window: .seconds(60), enough: 3))
        for n in 0..<3 {
            let waited = try await insert(quiet, n)
            #expect(waited < .seconds(30), "lone write \(n) waited \(waited) for the gathering window")
        }
        let busy = GroupCommit(writer, gathering: .init(window: .seconds(600), enough: 3))
        let holding = DispatchSemaphore(value: 0)
        let waits = try await withThrowingTaskGroup(of: (Int, Duration).self) { group in
            group.addTask {
                try await busy.write { db in
                    holding.wait()
                    try db.execute(sql: "INSERT INTO written VALUES (3)")
                }
                return (3, .zero)
            }
            for n in 4...6 {
                try await Task.sleep(for: .milliseconds(200))
                group.addTask { (n, try await insert(busy, n)) }
                if n == 4 {
                    try await Task.sleep(for: .milliseconds(200))
                    holding.signal()
                }
            }
            return try await group.reduce(into: [Int: Duration]()) { $0[$1.0] = $1.1 }
        }
        #expect(writer.transactions.withLock { $0 } == 5, "writes 4 to 6 were not committed together")
        let last = try #require(waits[6])
        #expect(last < .seconds(300), "the write that made enough waited \(last) for the window")
        let kept = try await DatabaseQueue(path: path).read { db in try Int.fetchAll(db, sql: "SELECT n FROM written") }
        #expect(kept.sorted() == Array(0...6))
    }

    /// A batch whose commit fails fails every write in it: each caller awaiting one is
    /// answered once, with that failure, and nothing is kept.
    @Test func aFailedCommitAnswersEveryAwaitedWriteInIt() async throws {
        let path = try TestPaths.temporaryDirectory("group-commit-failed").appendingPathComponent("written.sqlite").path
        let line = GroupCommit(try CountingWriter(path: path)) { _ in throw Refused(n: -1) }
        let failures = await withTaskGroup(of: (any Error)?.self) { group in
            for n in 0..<20 {
                group.addTask {
                    do {
                        _ = try await line.write { db in
                            try db.execute(sql: "INSERT INTO written VALUES (?)", arguments: [n])
                        }
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            return await group.reduce(into: [(any Error)?]()) { $0.append($1) }
        }
        #expect(failures.count == 20)
        #expect(failures.allSatisfy { ($0 as? Refused) == Refused(n: -1) })
        let kept = try await DatabaseQueue(path: path).read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM written")
        }
        #expect(kept == 0)
    }
}
