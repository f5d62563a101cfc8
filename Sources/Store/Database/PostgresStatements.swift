import PostgresNIO

/// The queries one connection prepared as named statements, so that PostgreSQL parses a
/// query the connection runs again once, and may plan it once (a generic plan, which it
/// takes after five runs when it costs no more than planning each time). Parsing and
/// planning were more than half of PostgreSQL's CPU per attestation.
///
/// A query is prepared once it was seen a second time (a one-off, a migration's, is never
/// prepared), between transactions: a named statement PostgreSQL refuses to prepare then
/// fails nothing, and the query keeps running unnamed. Its text names each argument's type
/// (``typed(_:_:)``), as an unnamed statement's bindings do, so both run the same way.
///
/// Touched only on its connection's event loop; it dies with the connection.
final class PostgresStatements: @unchecked Sendable {
    private enum Entry {
        case seen
        case preparing
        case prepared(PreparedQuery)
        case refused
    }

    /// At most this many queries are prepared on one connection (the store runs a few
    /// dozen; a query built with a varying number of arguments would otherwise grow it).
    static let capacity = 128

    private var entries: [String: Entry] = [:]
    private var due: [String] = []

    /// The named statement for `typedSQL`, once it was prepared.
    func prepared(_ typedSQL: String) -> PreparedQuery? {
        if case .prepared(let query) = entries[typedSQL] { return query }
        return nil
    }

    /// Notes that `typedSQL` runs unnamed; its second run makes it due for preparing. A
    /// grouped write's savepoint is not prepared: its name differs with its place in the
    /// batch, up to 256 of them, which would fill the table for nothing parsed.
    func ranUnnamed(_ typedSQL: String) {
        guard !typedSQL.hasPrefix("SAVEPOINT ") else { return }
        switch entries[typedSQL] {
        case nil:
            if entries.count < Self.capacity { entries[typedSQL] = .seen }
        case .seen:
            entries[typedSQL] = .preparing
            due.append(typedSQL)
        case .preparing, .prepared, .refused:
            break
        }
    }

    /// Runs `typedSQL` unnamed from now on: the server refused its named statement as
    /// stale (a column added by another appliance's migration changes what `SELECT *`
    /// returns, which PostgreSQL does not let a prepared statement do).
    func dropPrepared(_ typedSQL: String) { entries[typedSQL] = .refused }

    /// Prepares the queries that became due on `connection`; call it only between
    /// transactions, on the connection's event loop, before the next statement is written.
    func prepareDue(on connection: PostgresConnection) {
        let taken = due
        due = []
        for typedSQL in taken {
            connection.prepare(query: typedSQL).whenComplete { result in
                switch result {
                case .success(let query): self.entries[typedSQL] = .prepared(query)
                case .failure: self.entries[typedSQL] = .refused
                }
            }
        }
    }

    /// `sql` with its `?` placeholders numbered `$1`, `$2`… as PostgreSQL wants them, each
    /// cast to its argument's type (`$1::bigint`); a NULL's is left for PostgreSQL to infer,
    /// as an unnamed statement's is. A `?` inside a quoted literal or identifier is left alone.
    static func typed(_ sql: String, _ arguments: [SQLValue]) -> String {
        var result: [UInt8] = []
        result.reserveCapacity(sql.utf8.count + arguments.count * 12)
        var number = 0
        var quote: UInt8?
        for byte in sql.utf8 {
            if let open = quote {
                if byte == open { quote = nil }
                result.append(byte)
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                quote = byte
                result.append(byte)
            } else if byte == UInt8(ascii: "?") {
                let cast = number < arguments.count ? Self.cast(arguments[number]) : ""
                number += 1
                result.append(contentsOf: "$\(number)\(cast)".utf8)
            } else {
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// The cast naming the type `value` is bound as (``PostgresSession``'s bindings).
    private static func cast(_ value: SQLValue) -> String {
        switch value {
        case .null: ""
        case .integer: "::bigint"
        case .real: "::double precision"
        case .boolean: "::boolean"
        case .text: "::text"
        case .blob: "::bytea"
        case .timestamp: "::timestamptz"
        }
    }
}
