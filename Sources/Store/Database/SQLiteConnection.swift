import GRDBSQLite

/// One SQLite connection on its C interface, and the statements it prepared, each once (the
/// store's SQL is a fixed set of strings): the store's writer, and the readers of
/// ``SQLiteStatementReaders``. Used by one thread at a time, which its owner ensures: that
/// is why it may be handed between threads.
final class SQLiteConnection: SQLSession, @unchecked Sendable {
    /// A prepared statement and the names of its columns, as of its `reprepares`th
    /// re-preparation (SQLite prepares a statement again when another connection changed the
    /// schema, and its columns may differ then).
    private struct Prepared {
        let statement: OpaquePointer
        let columns: SQLColumns
        let reprepares: Int32

        init(_ statement: OpaquePointer) {
            self.statement = statement
            columns = SQLColumns(
                (0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) })
            reprepares = sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_REPREPARE, 0)
        }
    }

    /// SQLite copies what is bound with this destructor.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// What ``afterEachCommit(_:)`` installed, kept alive for SQLite's WAL hook.
    private final class CommitHook {
        let committed: (_ walFrames: Int) -> Bool

        init(_ committed: @escaping (_ walFrames: Int) -> Bool) { self.committed = committed }
    }

    private let connection: OpaquePointer
    private var prepared: [String: Prepared] = [:]
    private var commitHook: CommitHook?
    /// Whether ``inWriteTransaction(_:)`` has begun a transaction it has not ended.
    private var inTransaction = false

    /// Opens the existing database at `path`, read-only unless `writable`, waiting up to 10 s
    /// for another process's lock (`warden operator recover` beside a running server). A
    /// writable connection checks foreign keys and syncs every commit to disk: nothing is
    /// released before its verdict and audit record are committed, and a commit must
    /// survive power loss, not only a crash.
    init(path: String, writable: Bool) throws(StoreError) {
        var opened: OpaquePointer?
        let access = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY
        let code = sqlite3_open_v2(path, &opened, access | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(opened)
            throw .database("cannot open \(path): SQLite error \(code): \(message)")
        }
        connection = opened
        sqlite3_busy_timeout(connection, 10_000)
        if writable {
            do {
                _ = try execute("PRAGMA foreign_keys = ON", [])
                _ = try execute("PRAGMA synchronous = FULL", [])
                // The group commit's savepoints journal the pages each write changes: in
                // memory, not spilled to a temporary file past 64 KiB.
                _ = try execute("PRAGMA temp_store = MEMORY", [])
            } catch {
                throw .database("cannot set up the writer of \(path): \(error)")
            }
        }
    }

    deinit {
        if commitHook != nil { sqlite3_wal_hook(connection, nil, nil) }
        for statement in prepared.values { sqlite3_finalize(statement.statement) }
        sqlite3_close_v2(connection)
    }

    let lockingRows = ""

    /// Tells `committed` the frames in the WAL after each commit this connection makes, on
    /// the committing thread, once the commit is durable and its lock let go. This replaces
    /// SQLite's automatic checkpoint, which copied the WAL inside the commit that took it past
    /// 1,000 pages; when `committed` returns true the connection checkpoints as that did.
    func afterEachCommit(_ committed: @escaping (_ walFrames: Int) -> Bool) {
        let hook = CommitHook(committed)
        sqlite3_wal_hook(
            connection,
            { context, connection, database, frames in
                guard let context, let connection,
                    Unmanaged<CommitHook>.fromOpaque(context).takeUnretainedValue().committed(Int(frames))
                else { return SQLITE_OK }
                // What SQLite's own hook does: a failure here leaves the WAL to the next one.
                _ = sqlite3_wal_checkpoint_v2(connection, database, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                return SQLITE_OK
            }, Unmanaged.passUnretained(hook).toOpaque())
        commitHook = hook
    }

    /// Copies into the database file the WAL's frames that no reader still needs, waiting for
    /// no writer or reader (`SQLITE_CHECKPOINT_PASSIVE`); does nothing while another connection
    /// checkpoints. SQLite syncs the file only when it copied the whole WAL.
    func checkpoint() throws(StoreError) {
        var frames: Int32 = 0
        var copied: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
        if code == SQLITE_BUSY { return }
        guard code == SQLITE_OK else { throw failure(code, "sqlite3_wal_checkpoint_v2") }
        // A connection that has not read the database yet does not know it is in WAL mode.
        guard frames >= 0, copied >= 0 else { throw .database("no WAL to checkpoint") }
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try query(sql, arguments) { _ in }
        return Int(sqlite3_changes(connection))
    }

    /// Runs `body` in a write transaction, committed when it returns and rolled back when it
    /// (or the commit) throws.
    func inWriteTransaction(_ body: (SQLTransaction) throws -> Void) throws {
        _ = try execute("BEGIN IMMEDIATE", [])
        inTransaction = true
        do {
            try body(SQLTransaction(self))
            _ = try execute("COMMIT", [])
            inTransaction = false
        } catch {
            inTransaction = false
            // SQLite may have rolled back by itself (after an I/O error, say); then there is
            // nothing left to roll back, and the first failure is the one to report.
            if sqlite3_get_autocommit(connection) == 0 { _ = try? execute("ROLLBACK", []) }
            throw error
        }
    }

    func query(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
        // After an I/O error SQLite may roll the whole transaction back by itself: a statement
        // run then would commit on its own, and a later COMMIT would report the batch's
        // earlier writes committed.
        guard !inTransaction || sqlite3_get_autocommit(connection) == 0 else {
            throw StoreError.database("SQLite rolled the write transaction back; `\(sql)` was not run")
        }
        var prepared = try statement(sql)
        let statement = prepared.statement
        guard sqlite3_stmt_busy(statement) == 0 else {
            throw StoreError.database("`\(sql)` is already running on this connection")
        }
        guard sqlite3_bind_parameter_count(statement) == arguments.count else {
            throw StoreError.database(
                "`\(sql)` takes \(sqlite3_bind_parameter_count(statement)) arguments, not \(arguments.count)")
        }
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in arguments.enumerated() {
            let code = bind(value, at: Int32(index + 1), in: statement)
            guard code == SQLITE_OK else { throw failure(code, sql) }
        }
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                if sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_REPREPARE, 0) != prepared.reprepares {
                    prepared = Prepared(statement)
                    self.prepared[sql] = prepared
                }
                try body(
                    SQLRow(
                        columns: prepared.columns,
                        values: (0..<sqlite3_column_count(statement)).map { column(at: $0, of: statement) }))
            case SQLITE_DONE: return
            case let code: throw failure(code, sql)
            }
        }
    }

    /// `sql`, prepared on first use and kept.
    private func statement(_ sql: String) throws(StoreError) -> Prepared {
        if let known = prepared[sql] { return known }
        var statement: OpaquePointer?
        var used = 0
        let code = sql.withCString { text in
            var rest: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(connection, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, &rest)
            used = rest.map { $0 - text } ?? sql.utf8.count
            return code
        }
        guard code == SQLITE_OK, let statement else {
            throw code == SQLITE_OK ? .database("no statement in `\(sql)`") : failure(code, sql)
        }
        // One statement each: SQLite prepares the first and would leave the rest unrun (a
        // comment after it is refused too, which the store's SQL never has).
        guard
            sql.utf8.dropFirst(used).allSatisfy({ $0 == UInt8(ascii: ";") || $0 == 0x20 || (0x09...0x0d).contains($0) })
        else {
            sqlite3_finalize(statement)
            throw .database("more than one statement in `\(sql)`")
        }
        let made = Prepared(statement)
        prepared[sql] = made
        return made
    }

    /// Binds `value` as SQLite stores it: booleans as 0 or 1, times as ``SQLTimestamp`` text.
    private func bind(_ value: SQLValue, at position: Int32, in statement: OpaquePointer) -> Int32 {
        switch value {
        case .null: sqlite3_bind_null(statement, position)
        case .integer(let integer): sqlite3_bind_int64(statement, position, integer)
        case .real(let real): sqlite3_bind_double(statement, position, real)
        case .boolean(let flag): sqlite3_bind_int64(statement, position, flag ? 1 : 0)
        case .text(let text): bindText(text, at: position, in: statement)
        case .timestamp(let date): bindText(SQLTimestamp.text(date), at: position, in: statement)
        case .blob(let bytes):
            // An empty array may have no address, which SQLite would bind as NULL.
            bytes.isEmpty
                ? sqlite3_bind_zeroblob(statement, position, 0)
                : bytes.withUnsafeBytes {
                    sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), Self.transient)
                }
        }
    }

    private func bindText(_ text: String, at position: Int32, in statement: OpaquePointer) -> Int32 {
        sqlite3_bind_text(statement, position, text, Int32(text.utf8.count), Self.transient)
    }

    /// The value of column `index` of the row `statement` stepped to.
    private func column(at index: Int32, of statement: OpaquePointer) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            let text = sqlite3_column_text(statement, index)
            let count = Int(sqlite3_column_bytes(statement, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        default:
            let blob = sqlite3_column_blob(statement, index)
            let count = Int(sqlite3_column_bytes(statement, index))
            return .blob(count == 0 ? [] : [UInt8](UnsafeRawBufferPointer(start: blob, count: count)))
        }
    }

    /// What SQLite said went wrong with `sql`.
    private func failure(_ code: Int32, _ sql: String) -> StoreError {
        .database("SQLite error \(code): \(String(cString: sqlite3_errmsg(connection))) - while executing `\(sql)`")
    }
}
