import Dispatch
import NIOCore
import NIOPosix
import Synchronization

/// The shared backend: PostgreSQL, on whichever of the location's hosts is writable. Reads
/// run on a few pooled connections in read-only repeatable-read transactions (a single
/// query, ``readStatement(_:)``, outside any); writes are
/// grouped (``GroupCommit``) on one connection, each batch under a transaction-scoped
/// advisory lock that every appliance takes, so that writers on several appliances follow
/// one another as SQLite's one writer does (the audit chain's head, a nonce's use, a
/// machine's move are each decided by one writer at a time).
final class PostgresDatabase: StoreDatabase {
    /// The advisory lock every write transaction holds.
    static let writeLock: Int64 = 0x5761_7264_656E_0002
    /// How every write transaction begins, whatever the server's default isolation: each
    /// statement then sees what was committed before it, so a writer that waited for the
    /// write lock sees everything its predecessor committed.
    static let beginWrite = "BEGIN ISOLATION LEVEL READ COMMITTED"
    /// Connections reads may use at once: enough for the agent API's threads on a shared
    /// database to keep busy with round trips (challenges and attestations' contexts are
    /// reads; their writes wait in line for the one writer).
    static let readConnections = 8

    private let connector: PostgresConnector
    private let readers: PostgresPool
    private let writers: PostgresPool
    private let writer: GroupCommit

    /// Connects to the writable server of `location` and migrates its schema; `beforeCommit`
    /// runs last in every write transaction.
    init(
        location: PostgresLocation, password: String?,
        beforeCommit: (@Sendable (SQLTransaction) throws -> Void)?
    ) throws(StoreError) {
        connector = try PostgresConnector(
            location: location, password: password, group: MultiThreadedEventLoopGroup.singleton)
        readers = PostgresPool(connector: connector, size: Self.readConnections)
        writers = PostgresPool(connector: connector, size: 1)
        let described =
            "postgresql://" + location.hosts.map(\.description).joined(separator: ",") + "/"
            + location.database
        do {
            try writers.inTransaction(begin: Self.beginWrite) { db in
                try PostgresSchema.migrate(db, describing: described)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .database("cannot migrate \(described): \(error)")
        }
        writer = GroupCommit(PostgresWriter(pool: writers), beforeCommit: beforeCommit)
    }

    func read<T>(_ body: (SQLTransaction) throws -> T) throws -> T {
        try readers.inTransaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// Outside any transaction: no COMMIT to wait for.
    func readStatement<T>(_ body: (SQLTransaction) throws -> T) throws -> T {
        try readers.alone(body)
    }

    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) throws -> T {
        try writer.write(body)
    }

    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) async throws -> T {
        try await writer.write(body)
    }

    var generation: Int { connector.generation }

    func appliedMigrations() throws -> [String] {
        try read { db in try PostgresSchema.applied(db) }
    }

    /// Asked on a reader connection, which reaches the same primary as the writer (one
    /// connector), so that readiness probes, which anyone reaching the API may send, never
    /// wait in line with the writes attestations wait for.
    func checkWritable() throws {
        try readers.inTransaction(begin: "BEGIN READ ONLY") { db in
            guard try Bool.fetchOne(db, sql: "SELECT pg_is_in_recovery()") == false else {
                throw StoreError.unavailable("the server is a standby")
            }
        }
    }

    /// PostgreSQL checks its own pages (data checksums); this confirms that the writable
    /// server answers and holds Warden's schema.
    func integrityCheck() throws -> String {
        try read { db in try String.fetchOne(db, sql: "SELECT 'ok' FROM wardenMigration LIMIT 1") ?? "no schema" }
    }
}

/// The writer connection, each transaction under the appliances' shared write lock.
private struct PostgresWriter: WriteTransactions {
    let pool: PostgresPool

    func inWriteTransaction(_ body: (SQLTransaction) throws -> Void) throws {
        try pool.inTransaction(begin: PostgresDatabase.beginWrite) { db in
            try db.enqueue(sql: "SELECT pg_advisory_xact_lock(?)", arguments: [PostgresDatabase.writeLock])
            try body(db)
        }
    }
}

/// At most `size` connections, opened when first needed and kept while they stay usable.
final class PostgresPool: Sendable {
    private let connector: PostgresConnector
    private let idle = Mutex<[PostgresSession]>([])
    private let slots: DispatchSemaphore

    init(connector: PostgresConnector, size: Int) {
        self.connector = connector
        self.slots = DispatchSemaphore(value: size)
    }

    deinit {
        for session in idle.withLock({ $0 }) { session.close() }
    }

    /// Runs `body` in a transaction opened by `begin` on one of the pool's connections:
    /// committed when it returns, rolled back when it throws.
    func inTransaction<T>(begin: String, _ body: (SQLTransaction) throws -> T) throws -> T {
        try withSession { session in
            let db = SQLTransaction(session)
            try db.enqueue(sql: begin)
            do {
                let result = try body(db)
                // PostgreSQL answers COMMIT of a transaction that failed unseen with ROLLBACK, not an error.
                guard try session.commit() else {
                    throw StoreError.database("the transaction was rolled back, not committed")
                }
                return result
            } catch {
                if !session.broken { _ = try? db.execute(sql: "ROLLBACK") }
                throw error
            }
        }
    }

    /// Runs `body` on one of the pool's connections, each statement outside any transaction.
    func alone<T>(_ body: (SQLTransaction) throws -> T) throws -> T {
        try withSession { session in try body(SQLTransaction(session)) }
    }

    /// Runs `body` with one of the pool's connections, reused when it was usable or opened.
    private func withSession<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        let session =
            try idle.withLock { $0.popLast() }.flatMap { $0.isReusable ? $0 : nil }
            ?? connector.connectWritable()
        defer {
            if session.isReusable { idle.withLock { $0.append(session) } } else { session.close() }
        }
        return try body(session)
    }
}
