import Foundation
import GRDB
@testable import Store
import Testing
import TestSupport
import WardenCrypto

/// The SQLite backend beneath the store's one SQL interface.
@Suite struct SQLiteDatabaseTests {
    @Test(arguments: [0, 1, 1_234.567, 1_700_000_000.999, 4_102_444_799.5, -86_400.25])
    func timesAreWrittenAsGRDBAlwaysWroteThemAndReadBackToTheMillisecond(seconds: Double) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let text = SQLTimestamp.text(date)
        #expect(text == String.fromDatabaseValue(date.databaseValue))
        let read = try #require(SQLTimestamp.date(text))
        #expect(abs(read.timeIntervalSince1970 - seconds) < 0.001)
        #expect(SQLTimestamp.date(String(text.prefix(19))) == Date(timeIntervalSince1970: seconds.rounded(.down)))
    }

    @Test(arguments: ["", "2026-13", "2026-01-01 25", "2026-01-01 12:00:00.", "2026-01-01 12:00:00.1234", "x026-01-01"])
    func textThatIsNotATimeIsNoDate(text: String) {
        #expect(SQLTimestamp.date(text) == nil)
    }

    @Test func aDatabaseANewerWardenMigratedIsRefusedByName() throws {
        let folder = try TestPaths.temporaryDirectory("newer-schema")
        let path = folder.appendingPathComponent("warden.sqlite").path
        let key = try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path)
        _ = try EnrolmentStore(path: path, key: key)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        #expect(throws: StoreError.newerSchema(path: path, migrations: ["v99-from-the-future"])) {
            try EnrolmentStore(path: path, key: key)
        }
        #expect(
            StoreError.newerSchema(path: path, migrations: ["v99-from-the-future"]).description.contains(
                "migrated by a newer Warden (v99-from-the-future)"))
    }

    /// Nothing is released before its verdict is committed, so a commit must survive power
    /// loss: the writer syncs the WAL at every commit (FULL, 2), not only at checkpoints
    /// (NORMAL, which GRDB sets when it turns WAL on).
    @Test func theWriterSyncsEveryCommit() throws {
        let folder = try TestPaths.temporaryDirectory("synchronous")
        let database = try SQLiteDatabase(path: folder.appendingPathComponent("warden.sqlite").path, beforeCommit: nil)
        #expect(try database.writerSynchronousMode() == 2)
    }

    /// The readiness probe's check takes its turn among the store's writes: answered while
    /// another thread writes back to back, none of them refused.
    @Test func theWritableCheckTakesItsTurnAmongWrites() async throws {
        let folder = try TestPaths.temporaryDirectory("writable")
        let database = try SQLiteDatabase(path: folder.appendingPathComponent("warden.sqlite").path, beforeCommit: nil)
        _ = try await database.write { db in try db.execute(sql: "CREATE TABLE counted (n INTEGER)") }
        let writes = Task.detached {
            for n in 0..<400 {
                _ = try await database.write { db in
                    try db.execute(sql: "INSERT INTO counted VALUES (?)", arguments: [n])
                }
            }
        }
        for _ in 0..<20 { try database.checkWritable() }
        try await writes.value
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM counted") } == 400)
    }

    /// Nonce uses kept before they were keyed by value alone keep their rows, and a use of
    /// the same nonce is refused after the table was rebuilt, whichever machine it names
    /// (the nonce's bytes name its machine).
    @Test func nonceUsesAreKeyedByValueAfterTheMigration() throws {
        let earlier = try EarlierDatabase("nonce-uses", upTo: "v19-audit-hashes-unindexed") { db in
            for (name, ekName) in [("m", "x'0b'"), ("n", "x'0c'")] {
                try db.execute(
                    sql:
                        "INSERT INTO machine (name, state, ekPublic, ekName, createdAt) VALUES ('\(name)', 'active', x'01', \(ekName), 0)"
                )
            }
            try db.execute(
                sql: "INSERT INTO machineNonce (machineID, value, expiresAt, usedAt) VALUES (1, x'0102', ?, ?)",
                arguments: [Date(timeIntervalSince1970: 60), Date(timeIntervalSince1970: 1)])
        }
        _ = try earlier.openedByToday()
        let migrated = try DatabaseQueue(path: earlier.path)
        let (rows, keyed) = try migrated.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM machineNonce WHERE machineID = 1 AND value = x'0102'"),
                try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('machineNonce') WHERE pk > 0")
            )
        }
        #expect(rows == 1)
        #expect(keyed == ["value"])
        for machine in [1, 2] {
            #expect(throws: DatabaseError.self) {
                try migrated.write { db in
                    try db.execute(
                        sql: "INSERT INTO machineNonce (machineID, value, expiresAt) VALUES (?, x'0102', 0)",
                        arguments: [machine])
                }
            }
        }
    }
}
