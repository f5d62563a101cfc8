import Foundation
import GRDB
@testable import Store
import Testing
import TestSupport

/// The store's writer and one-statement readers on SQLite's C interface: values go in and
/// come back as GRDB's connections (which keep the schema and the other reads) see them.
@Suite struct SQLiteConnectionTests {
    /// A database file with one table of any values, made by GRDB in WAL mode as the store's are.
    private static func database(_ name: String) throws -> String {
        let path = try TestPaths.temporaryDirectory(name).appendingPathComponent("values.sqlite").path
        try DatabasePool(path: path).write { db in
            try db.execute(sql: "CREATE TABLE value (id INTEGER PRIMARY KEY, v)")
        }
        return path
    }

    private static let values: [SQLValue] = [
        .null, .integer(.min), .integer(.max), .real(-1.5), .boolean(true), .boolean(false),
        .text(""), .text("naïve \"quoted\" \\ / \u{7f} 🔐"), .blob([]), .blob([0, 1, 0xff]),
        .timestamp(Date(timeIntervalSince1970: 1_700_000_000.123)),
    ]

    /// What SQLite gives back for `value`: booleans as 0 or 1, times as their text.
    private static func stored(_ value: SQLValue) -> SQLValue {
        switch value {
        case .boolean(let flag): .integer(flag ? 1 : 0)
        case .timestamp(let date): .text(SQLTimestamp.text(date))
        default: value
        }
    }

    @Test func everyValueReadsBackAsGRDBReadsIt() throws {
        let path = try Self.database("connection-values")
        let writer = try SQLiteConnection(path: path, writable: true)
        try writer.inWriteTransaction { db in
            for (id, value) in Self.values.enumerated() {
                try db.execute(
                    sql: "INSERT INTO value (id, v) VALUES (?, ?)",
                    arguments: SQLArguments([.integer(Int64(id)), value]))
            }
        }
        let reader = try SQLiteConnection(path: path, writable: false)
        let raw = try SQLRow.fetchAll(SQLTransaction(reader), sql: "SELECT v FROM value ORDER BY id").map(\.values)
        let throughGRDB = try DatabaseQueue(path: path).read { db in
            try SQLRow.fetchAll(SQLiteSession.transaction(db), sql: "SELECT v FROM value ORDER BY id").map(\.values)
        }
        #expect(raw == Self.values.map { [Self.stored($0)] })
        #expect(raw == throughGRDB)
        // A text holding NUL reads back whole (GRDB's rows end it there).
        try writer.inWriteTransaction { db in
            try db.execute(sql: "INSERT INTO value (id, v) VALUES (100, ?)", arguments: ["a\u{0}b"])
        }
        #expect(try String.fetchOne(SQLTransaction(reader), sql: "SELECT v FROM value WHERE id = 100") == "a\u{0}b")
        // An empty blob stays a blob: SQLite binds a missing address as NULL.
        #expect(try String.fetchOne(SQLTransaction(reader), sql: "SELECT typeof(v) FROM value WHERE id = 8") == "blob")
    }

    @Test func aWriteThatThrowsLeavesNothingAndTheNextCommits() throws {
        struct Refused: Error {}
        let path = try Self.database("connection-rollback")
        let writer = try SQLiteConnection(path: path, writable: true)
        #expect(throws: Refused.self) {
            try writer.inWriteTransaction { db in
                try db.execute(sql: "INSERT INTO value (id, v) VALUES (1, 'first')")
                throw Refused()
            }
        }
        try writer.inWriteTransaction { db in try db.execute(sql: "INSERT INTO value (id, v) VALUES (2, 'second')") }
        let kept = try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT v FROM value") }
        #expect(kept == ["second"])
    }

    @Test func theWriterChecksForeignKeysAndSyncsEveryCommit() throws {
        let path = try Self.database("connection-settings")
        let writer = try SQLiteConnection(path: path, writable: true)
        let db = SQLTransaction(writer)
        #expect(try Int.fetchOne(db, sql: "PRAGMA foreign_keys") == 1)
        #expect(try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2)
        #expect(try Int.fetchOne(db, sql: "PRAGMA temp_store") == 2)
    }

    @Test func aReaderWritesNothingAndSQLiteSaysWhy() throws {
        let path = try Self.database("connection-reader")
        let reader = SQLTransaction(try SQLiteConnection(path: path, writable: false))
        let insert = "INSERT INTO value (id, v) VALUES (1, 'x')"
        #expect {
            try reader.execute(sql: insert)
        } throws: { error in
            guard case StoreError.database(let message) = error else { return false }
            return message.contains("readonly") && message.contains(insert)
        }
        #expect {
            try reader.execute(sql: "SELECT FROM nowhere")
        } throws: { error in
            guard case StoreError.database(let message) = error else { return false }
            return message.contains("syntax error") && message.contains("SELECT FROM nowhere")
        }
        #expect(throws: StoreError.database("more than one statement in `SELECT 1; DELETE FROM value`")) {
            try reader.execute(sql: "SELECT 1; DELETE FROM value")
        }
        #expect(try Int.fetchOne(reader, sql: "SELECT COUNT(*) FROM value;") == 0)
    }

    @Test func aStatementGetsExactlyTheArgumentsItTakes() throws {
        let path = try Self.database("connection-arguments")
        let writer = try SQLiteConnection(path: path, writable: true)
        for arguments in [[SQLValue.integer(1)], [.integer(1), .text("x"), .text("y")]] {
            #expect(
                throws: StoreError.database(
                    "`INSERT INTO value (id, v) VALUES (?, ?)` takes 2 arguments, not \(arguments.count)")
            ) {
                try writer.inWriteTransaction { db in
                    try db.execute(sql: "INSERT INTO value (id, v) VALUES (?, ?)", arguments: SQLArguments(arguments))
                }
            }
        }
        #expect(throws: StoreError.database("no statement in ` `")) { try SQLTransaction(writer).execute(sql: " ") }
        #expect(try Int.fetchOne(SQLTransaction(writer), sql: "SELECT COUNT(*) FROM value") == 0)
    }

    /// A failed statement's error names the SQL, never what was bound to it (a disk key, say).
    @Test func aFailureNamesTheStatementNotItsValues() throws {
        let path = try Self.database("connection-failure")
        let writer = try SQLiteConnection(path: path, writable: true)
        try writer.inWriteTransaction { db in try db.execute(sql: "INSERT INTO value (id, v) VALUES (1, 'first')") }
        #expect {
            try writer.inWriteTransaction { db in
                try db.execute(sql: "INSERT INTO value (id, v) VALUES (?, ?)", arguments: [1, "secret-marker"])
            }
        } throws: { error in
            let message = "\(error)"
            return message.contains("UNIQUE constraint failed") && message.contains("VALUES (?, ?)")
                && !message.contains("secret-marker")
        }
    }

    /// A commit SQLite refuses (a deferred foreign key left dangling) rolls back, and the
    /// connection takes the next transaction.
    @Test func aRefusedCommitRollsBackAndTheNextCommits() throws {
        let path = try Self.database("connection-commit")
        try DatabaseQueue(path: path).write { db in
            try db.execute(
                sql:
                    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent REFERENCES value(id) DEFERRABLE INITIALLY DEFERRED)"
            )
        }
        let writer = try SQLiteConnection(path: path, writable: true)
        #expect {
            try writer.inWriteTransaction { db in try db.execute(sql: "INSERT INTO child (id, parent) VALUES (1, 99)") }
        } throws: { "\($0)".contains("FOREIGN KEY constraint failed") }
        try writer.inWriteTransaction { db in
            try db.execute(sql: "INSERT INTO value (id, v) VALUES (99, 'parent')")
            try db.execute(sql: "INSERT INTO child (id, parent) VALUES (2, 99)")
        }
        #expect(try Int64.fetchAll(SQLTransaction(writer), sql: "SELECT id FROM child") == [2])
    }

    /// A reader kept in the pool sees what was committed since it last read, with the same
    /// statement, also after a read that stopped halfway.
    @Test func aKeptReaderSeesLaterCommits() throws {
        struct Stop: Error {}
        let path = try Self.database("connection-later")
        let writer = try SQLiteConnection(path: path, writable: true)
        let readers = SQLiteStatementReaders(path: path)
        let count = "SELECT COUNT(*) FROM value"
        for id in 1...3 {
            try writer.inWriteTransaction { db in
                try db.execute(sql: "INSERT INTO value (id, v) VALUES (?, 'x')", arguments: [id])
            }
            #expect(try readers.withConnection { try Int.fetchOne(SQLTransaction($0), sql: count) } == id)
            #expect(throws: Stop.self) {
                try readers.withConnection {
                    try SQLTransaction($0).forEachRow(sql: "SELECT id FROM value") { _ in throw Stop() }
                }
            }
        }
    }

    @Test func aMissingDatabaseIsNotCreatedByAReader() throws {
        let path = try TestPaths.temporaryDirectory("connection-missing").appendingPathComponent("none.sqlite").path
        #expect(throws: StoreError.self) { try SQLiteConnection(path: path, writable: false) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A read under way keeps its connection: another read beside it gets one of its own,
    /// and a later read takes an idle one again.
    @Test func readersShareNoConnectionWhileInUse() throws {
        let readers = SQLiteStatementReaders(path: try Self.database("connection-readers"))
        let (outer, inner) = try readers.withConnection { outer in
            (ObjectIdentifier(outer), try readers.withConnection { ObjectIdentifier($0) })
        }
        #expect(outer != inner)
        #expect(try [outer, inner].contains(readers.withConnection { ObjectIdentifier($0) }))
    }
}
