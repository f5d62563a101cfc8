/// Where a store's rows live, behind the one interface every record type is written against.
protocol StoreDatabase: Sendable {
    /// Runs `body` in a read-only transaction that sees one consistent state throughout.
    func read<T>(_ body: (SQLTransaction) throws -> T) throws -> T
    /// Runs `body` as ``read(_:)`` does, except that its queries need not see one state
    /// together (one query, say, which sees one state by itself): a backend may run each
    /// outside any transaction.
    func readStatement<T>(_ body: (SQLTransaction) throws -> T) throws -> T
    /// Runs `body` in a write transaction and returns once that transaction is durably
    /// committed. `body` runs on the writer's thread, not the caller's: it must not use what
    /// is bound to the caller's (a transaction of GRDB's the caller is in, say).
    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) throws -> T
    /// Runs `body` as ``write(_:)`` does, holding no thread while it waits in line and commits.
    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) async throws -> T
    /// The names of the schema migrations applied, in order.
    func appliedMigrations() throws -> [String]
    /// The backend's own check of its storage; "ok" when it found nothing wrong.
    func integrityCheck() throws -> String
    /// Throws unless the database takes writes now (reached, and not a standby).
    func checkWritable() throws
    /// Counts the times the writable server was found again after a fail-over (what was
    /// committed before may be missing from the new one); 0 where there is no fail-over.
    var generation: Int { get }
}

extension StoreDatabase {
    var generation: Int { 0 }
}
