import Foundation
import GRDB
@testable import Store
import Testing
import TestSupport

/// The WAL is copied into the database file beside the writer, never by SQLite inside a
/// commit, and the writer copies it itself only when the WAL reaches its bound.
@Suite struct SQLiteCheckpointerTests {
    /// A WAL-mode database with one table, its writer, and the checkpoints `thresholds` make.
    private struct Database {
        let path: String
        let pool: DatabasePool
        let writer: Store.SQLiteConnection

        init(_ name: String, thresholds: SQLiteCheckpointer.Thresholds) throws {
            path = try TestPaths.temporaryDirectory(name).appendingPathComponent("checkpointed.sqlite").path
            pool = try DatabasePool(path: path)
            try pool.write { db in try db.execute(sql: "CREATE TABLE written (n INTEGER PRIMARY KEY, b BLOB)") }
            writer = try Store.SQLiteConnection(path: path, writable: true)
            try SQLiteCheckpointer.watch(writer, path: path, thresholds: thresholds)
        }

        /// `commits` commits of one row of about a page (three WAL frames each, as a rule).
        func write(commits: Int) throws {
            for n in 0..<commits {
                try writer.inWriteTransaction { db in
                    try db.execute(
                        sql: "INSERT INTO written VALUES (?, ?)", arguments: [n, [UInt8](repeating: 7, count: 3_000)])
                }
            }
        }

        func size(_ suffix: String = "") throws -> Int {
            try FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int ?? -1
        }
    }

    /// SQLite's own checkpoint, at 1,000 frames, would have copied some 1,500 pages into the
    /// file inside the writer's commits.
    @Test func theWriterDoesNotCheckpointBelowTheBound() async throws {
        let database = try Database("checkpoint-none", thresholds: .init(background: .max, bound: .max))
        let before = try database.size()
        try database.write(commits: 1_500)
        #expect(try database.size() == before)
        #expect(try database.size("-wal") > 1_500 * 4_096)
        let count = try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM written") }
        #expect(count == 1_500)
    }

    /// Fewer frames than SQLite's own checkpoint waits for, and a writer that never copies:
    /// the pages reach the file all the same, copied by the checkpointer's own connection.
    @Test func checkpointsAreMadeBesideTheWriter() async throws {
        let database = try Database("checkpoint-beside", thresholds: .init(background: 100, bound: .max))
        let before = try database.size()
        try database.write(commits: 250)
        #expect(try database.size("-wal") < 1_000 * (4_096 + 24))
        let deadline = ContinuousClock.now + .seconds(60)
        while try database.size() < before + 200 * 4_096, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try database.size() >= before + 200 * 4_096)
    }

    /// Where no checkpoint is made beside it, the writer keeps the WAL to its bound: SQLite
    /// starts it over after the writer's checkpoint copied all of it.
    @Test func theWriterKeepsTheWALToItsBound() async throws {
        let database = try Database("checkpoint-bound", thresholds: .init(background: .max, bound: 300))
        let before = try database.size()
        try database.write(commits: 1_500)
        // A commit of one row writes a few frames of 4 KiB and a 24-byte header each.
        #expect(try database.size("-wal") <= 32 + (300 + 8) * (4_096 + 24))
        #expect(try database.size() > before + 1_000 * 4_096)
    }

    /// A database that is not in WAL mode has no WAL to copy: refused, not watched in vain.
    @Test func aDatabaseWithoutAWALIsRefused() throws {
        let path = try TestPaths.temporaryDirectory("checkpoint-journal").appendingPathComponent("rollback.sqlite").path
        try DatabaseQueue(path: path).write { db in try db.execute(sql: "CREATE TABLE t (n INTEGER)") }
        let writer = try Store.SQLiteConnection(path: path, writable: true)
        #expect(throws: StoreError.self) { try SQLiteCheckpointer.watch(writer, path: path) }
    }
}
