import Foundation
import GRDB

/// The embedded backend: one SQLite file in WAL mode with foreign keys on. GRDB makes and
/// migrates it and serves the reads that need one state throughout; the writes, grouped into
/// shared commits (``GroupCommit``), and the one-statement reads go through SQLite's C
/// interface (``SQLiteConnection``). The WAL is copied into the file beside the writer
/// (``SQLiteCheckpointer``).
final class SQLiteDatabase: StoreDatabase {
    private let pool: DatabasePool
    private let writer: GroupCommit
    private let statementReaders: SQLiteStatementReaders

    /// Opens (creating and migrating) the database at `path`; `beforeCommit` runs last in
    /// every write transaction.
    init(path: String, beforeCommit: (@Sendable (SQLTransaction) throws -> Void)?) throws(StoreError) {
        do {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            // Another process may write now and then (`warden operator recover` beside a
            // running server): wait for its transaction rather than fail.
            configuration.busyMode = .timeout(10)
            pool = try DatabasePool(path: path, configuration: configuration)
            // A commit must survive power loss, not only a crash: nothing is released
            // before its verdict and audit record are committed. Set on the writer once
            // the pool is open: GRDB sets NORMAL when it turns WAL on, after
            // `prepareDatabase` has run, so a setting made there does not last.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw .database("cannot open \(path): \(error)")
        }
        let unknown: [String]
        do {
            unknown = try pool.read { db in
                try SQLiteSchema.migrator.appliedIdentifiers(db).subtracting(SQLiteSchema.migrator.migrations)
            }.sorted()
        } catch {
            throw .database("cannot read the schema of \(path): \(error)")
        }
        guard unknown.isEmpty else { throw .newerSchema(path: path, migrations: unknown) }
        do {
            try SQLiteSchema.migrator.migrate(pool)
        } catch {
            throw .database("cannot migrate \(path): \(error)")
        }
        // The store's own writes go through SQLite's C interface, as its one-statement reads
        // do (``SQLiteStatementReaders``): GRDB's per-statement work cost as much as
        // SQLite's own in an attestation's write. GRDB keeps the schema and the other reads.
        let writerConnection = try SQLiteConnection(path: path, writable: true)
        try SQLiteCheckpointer.watch(writerConnection, path: path)
        writer = GroupCommit(SQLiteWriter(connection: writerConnection), beforeCommit: beforeCommit)
        statementReaders = SQLiteStatementReaders(path: path)
    }

    func read<T>(_ body: (SQLTransaction) throws -> T) throws -> T {
        try pool.read { db in try body(SQLiteSession.transaction(db)) }
    }

    /// On a reader connection of its own outside any transaction, where each statement sees
    /// one state by itself (``SQLiteStatementReaders``).
    func readStatement<T>(_ body: (SQLTransaction) throws -> T) throws -> T {
        try statementReaders.withConnection { connection in try body(SQLTransaction(connection)) }
    }

    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) throws -> T {
        try writer.write(body)
    }

    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) async throws -> T {
        try await writer.write(body)
    }

    func appliedMigrations() throws -> [String] {
        try pool.read { db in try SQLiteSchema.migrator.appliedMigrations(db) }
    }

    /// Takes SQLite's write lock and lets it go, writing nothing: in line with the store's
    /// own writes (``GroupCommit``), so that a readiness probe under load waits for one
    /// commit instead of racing every batch for the lock until its busy timeout.
    func checkWritable() throws {
        try writer.write { _ in }
    }

    /// The writer's `PRAGMA synchronous`: 2 (FULL) when every commit is synced to disk.
    func writerSynchronousMode() throws -> Int {
        try writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }
}

/// SQLite's one writer connection, used only by the group commit's committer.
private struct SQLiteWriter: WriteTransactions {
    let connection: SQLiteConnection

    func inWriteTransaction(_ body: (SQLTransaction) throws -> Void) throws {
        try connection.inWriteTransaction(body)
    }
}

/// One GRDB connection inside its transaction. Every statement is prepared once per
/// connection and kept (the store's SQL is a fixed set of strings).
final class SQLiteSession: SQLSession {
    private let db: GRDB.Database

    private init(_ db: GRDB.Database) { self.db = db }

    /// The transaction `db` is in, as the store's records see it.
    static func transaction(_ db: GRDB.Database) -> SQLTransaction { SQLTransaction(SQLiteSession(db)) }

    let lockingRows = ""

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(arguments.map { $0.databaseValue }))
        return db.changesCount
    }

    func query(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let columns = SQLColumns(statement.columnNames)
        let cursor = try GRDB.Row.fetchCursor(
            statement, arguments: StatementArguments(arguments.map { $0.databaseValue }))
        while let row = try cursor.next() {
            try body(SQLRow(columns: columns, values: row.databaseValues.map(SQLValue.init)))
        }
    }
}

extension SQLValue {
    /// The value as SQLite stores it: booleans as 0 or 1, times as ``SQLTimestamp`` text.
    fileprivate var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let integer): integer.databaseValue
        case .real(let real): real.databaseValue
        case .boolean(let flag): flag.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        case .timestamp(let date): SQLTimestamp.text(date).databaseValue
        }
    }

    fileprivate init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let real): self = .real(real)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob([UInt8](data))
        }
    }
}
