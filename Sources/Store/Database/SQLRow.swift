/// The column names of one query's rows, shared by all of them; looked up without regard
/// to case (PostgreSQL folds unquoted names to lower case, SQLite keeps them as written).
final class SQLColumns: Sendable {
    let names: [String]
    /// The names `folded` holds, as the backend wrote them: most look-ups find one without
    /// lowering the case of the name asked for.
    private let exact: [String: Int]
    private let folded: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var exact: [String: Int] = [:]
        var folded: [String: Int] = [:]
        for (index, name) in names.enumerated() where folded[name.lowercased()] == nil {
            folded[name.lowercased()] = index
            exact[name] = index
        }
        self.exact = exact
        self.folded = folded
    }

    func index(of name: String) -> Int? { exact[name] ?? folded[name.lowercased()] }
}

/// One row a query returned.
public struct SQLRow: Sendable {
    let columns: SQLColumns
    let values: [SQLValue]

    init(columns: SQLColumns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of column `name` (case-insensitive) as `T`. A missing column or a value
    /// of another type is a defect of the query, not of the data, and stops the process,
    /// naming both.
    public subscript<T: SQLColumnValue>(_ name: String) -> T {
        guard let index = columns.index(of: name) else {
            preconditionFailure("no column \(name) among \(columns.names.joined(separator: ", "))")
        }
        guard let value = T.decode(values[index]) else {
            preconditionFailure("column \(name) holds \(values[index].kind), not \(T.self)")
        }
        return value
    }

    /// The first column's value as `T`; nil when it is NULL.
    func first<T: SQLColumnValue>(_: T.Type) -> T? {
        guard let value = values.first, value != .null else { return nil }
        guard let decoded = T.decode(value) else {
            preconditionFailure("column \(columns.names.first ?? "") holds \(value.kind), not \(T.self)")
        }
        return decoded
    }
}

extension SQLValue {
    /// The kind of value, for a message.
    var kind: String {
        switch self {
        case .null: "NULL"
        case .integer: "an integer"
        case .real: "a real number"
        case .boolean: "a boolean"
        case .text: "text"
        case .blob: "a blob"
        case .timestamp: "a timestamp"
        }
    }
}
