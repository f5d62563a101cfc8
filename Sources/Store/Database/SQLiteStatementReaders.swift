import Synchronization

/// Read-only connections for one-statement reads (``StoreDatabase/readStatement(_:)``), on
/// SQLite's C interface itself. A challenge and an attestation's context are one short query
/// each, made for every attestation, and GRDB's pool check-out, serial queue and schema check
/// cost about twice the query itself there. Connections are opened when more reads are under
/// way than are idle, and at most ``keptIdle`` are kept.
final class SQLiteStatementReaders: Sendable {
    /// At most this many idle connections are kept open.
    static let keptIdle = 8

    private let path: String
    private let idle = Mutex<[SQLiteConnection]>([])

    /// Readers of the SQLite database at `path`, which its writer has opened (and put in WAL mode).
    init(path: String) { self.path = path }

    /// Runs `body` on a connection no other thread uses meanwhile.
    func withConnection<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? SQLiteConnection(path: path, writable: false)
        defer { idle.withLock { if $0.count < Self.keptIdle { $0.append(connection) } } }
        return try body(connection)
    }
}
