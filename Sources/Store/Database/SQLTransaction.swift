import Synchronization

/// What a backend's connection does inside a transaction: run a statement, or a query row by row.
protocol SQLSession: AnyObject {
    /// Runs `sql` (one statement, `?` for each argument) and returns how many rows it changed.
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    /// Runs query `sql` and calls `body` with each row, in order.
    func query(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws
    /// Has statement `sql`, whose answer nobody reads, run without waiting for it where the
    /// backend can: it goes with the next statement that is waited for and runs before it,
    /// which throws its failure.
    func enqueue(_ sql: String, _ arguments: [SQLValue]) throws
    /// Sends query `sql` as ``enqueue(_:_:)`` sends a statement: its rows are there once a
    /// later statement was waited for.
    func enqueueQuery(_ sql: String, _ arguments: [SQLValue]) throws -> SQLLaterRows
    /// The clause that locks the rows a query reads (`FOR UPDATE`), or nothing.
    var lockingRows: String { get }
}

extension SQLSession {
    func enqueue(_ sql: String, _ arguments: [SQLValue]) throws { _ = try execute(sql, arguments) }

    func enqueueQuery(_ sql: String, _ arguments: [SQLValue]) throws -> SQLLaterRows {
        var rows: [SQLRow] = []
        try query(sql, arguments) { rows.append($0) }
        let later = SQLLaterRows()
        later.answer(.success(rows))
        return later
    }
}

/// The rows of a query sent without waiting, once it was answered.
final class SQLLaterRows: Sendable {
    private let answered = Mutex<Result<[SQLRow], any Error>?>(nil)

    /// Keeps the query's rows, or why it failed.
    func answer(_ result: Result<[SQLRow], any Error>) { answered.withLock { $0 = result } }

    /// Whether the query was answered.
    var isAnswered: Bool { answered.withLock { $0 != nil } }

    /// The rows; throws what the query failed with, and when it was not answered yet.
    func rows() throws -> [SQLRow] {
        guard let result = answered.withLock({ $0 }) else {
            throw StoreError.database("a statement sent without waiting was read before it was answered")
        }
        return try result.get()
    }
}

/// What one transaction remembers between its statements.
final class TransactionMemo {
    /// The audit chain's head after this transaction's own appends (nil: read it).
    var auditHead: (sequence: Int64, hash: [UInt8])?
    /// The appliance its audit records name (the store's).
    var appliance: String?
    /// Audit records appended in it so far.
    var appendedRecords = 0
    /// The query of the removed appliances' certificates, which every release names, sent
    /// once per transaction: on PostgreSQL each statement is a round trip in the writer every
    /// appliance waits for. Only an appliance's removal changes them, and it forgets this.
    var removedAppliances: SQLLaterRows?
}

/// The arguments of a statement, written as an array literal of column values.
public struct SQLArguments: ExpressibleByArrayLiteral, Sendable {
    let values: [SQLValue]

    public init(arrayLiteral elements: (any SQLColumnValue)?...) {
        values = elements.map { $0?.sqlValue ?? .null }
    }

    init(_ values: [SQLValue]) { self.values = values }
}

/// The caller's transaction, on whichever backend holds the store: statements and queries in
/// SQL both backends speak, with `?` for each argument.
struct SQLTransaction {
    private let session: any SQLSession
    let memo = TransactionMemo()

    init(_ session: any SQLSession) { self.session = session }

    /// The clause that locks the rows a query reads until the transaction ends (empty on
    /// SQLite, whose one writer excludes the others).
    var lockingRows: String { session.lockingRows }

    /// Sends a statement whose answer nobody reads (see ``SQLSession/enqueue(_:_:)``).
    func enqueue(sql: String, arguments: SQLArguments = []) throws {
        try session.enqueue(sql, arguments.values)
    }

    /// Sends a query whose rows are read after a later statement was waited for (see
    /// ``SQLSession/enqueueQuery(_:_:)``).
    func enqueueQuery(sql: String, arguments: SQLArguments = []) throws -> SQLLaterRows {
        try session.enqueueQuery(sql, arguments.values)
    }

    /// Waits until every statement sent without waiting was answered.
    func awaitSent() throws { try execute(sql: "SELECT 1") }

    /// The answer of `later`, waiting for it only when it is not there yet.
    func answer(_ later: SQLLaterRows) throws -> [SQLRow] {
        if !later.isAnswered { try awaitSent() }
        return try later.rows()
    }

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func execute(sql: String, arguments: SQLArguments = []) throws -> Int {
        try session.execute(sql, arguments.values)
    }

    /// Calls `body` with each row of a query, in order, one at a time.
    func forEachRow(sql: String, arguments: SQLArguments = [], _ body: (SQLRow) throws -> Void) throws {
        try session.query(sql, arguments.values, body)
    }
}

extension SQLRow {
    /// Every row of a query.
    static func fetchAll(_ db: SQLTransaction, sql: String, arguments: SQLArguments = []) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try db.forEachRow(sql: sql, arguments: arguments) { rows.append($0) }
        return rows
    }

    /// A query's first row, if it returned any.
    static func fetchOne(_ db: SQLTransaction, sql: String, arguments: SQLArguments = []) throws -> SQLRow? {
        try fetchAll(db, sql: sql, arguments: arguments).first
    }
}

extension SQLColumnValue {
    /// The first column of a query's first row; nil when there is no row or it holds NULL.
    static func fetchOne(_ db: SQLTransaction, sql: String, arguments: SQLArguments = []) throws -> Self? {
        try SQLRow.fetchOne(db, sql: sql, arguments: arguments)?.first(Self.self)
    }

    /// The first column of every row of a query, NULLs left out.
    static func fetchAll(_ db: SQLTransaction, sql: String, arguments: SQLArguments = []) throws -> [Self] {
        try SQLRow.fetchAll(db, sql: sql, arguments: arguments).compactMap { $0.first(Self.self) }
    }
}

extension SQLTransaction {
    /// Runs an `INSERT` into a table keyed by `id` and returns the new row's id.
    func insert(sql: String, arguments: SQLArguments = []) throws -> Int64 {
        guard let id = try Int64.fetchOne(self, sql: sql + " RETURNING id", arguments: arguments) else {
            throw StoreError.database("an insert returned no id")
        }
        return id
    }
}
