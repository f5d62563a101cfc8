/// What a backend's connection does inside a transaction: run a statement, or a query row by row.
protocol SQLSession: AnyObject {
    /// Runs `sql` (one statement, `?` for each argument) and returns how many rows it changed.
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    /// Runs query `sql` and calls `body` with each row, in order.
    func query(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws
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

    init(_ session: any SQLSession) { self.session = session }

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
