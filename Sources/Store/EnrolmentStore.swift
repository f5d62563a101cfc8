import Foundation
import WardenCrypto

/// The enrolment database, on a ``StoreDatabase`` backend, with secrets sealed under a
/// key-encryption key kept beside it, not in it.
public final class EnrolmentStore: Sendable {
    /// Nonces are this many bytes (``AttestationNonce``).
    public static let nonceSize = 32
    /// Nonces live this long.
    public static let nonceLifetime: TimeInterval = 60

    /// Bounds on the rows requests nobody authenticated can create.
    public struct Limits: Sendable {
        /// Machines recorded as discovered (at boot or by `warden-agent register`) at once.
        public var maxDiscoveredMachines = 1_000
        /// How long a discovered machine nobody adopted stays recorded.
        public var discoveredMachineLifetime: TimeInterval = 86_400
        /// How long a registration ticket may wait for its activation.
        public var registrationLifetime: TimeInterval = 300

        public init() {}
    }

    let database: any StoreDatabase
    let key: KeyEncryptionKey
    let auditSigner: AuditSigner?
    /// The appliance this store's audit records name; nil: none (the first record format).
    public let appliance: String?
    public let limits: Limits
    /// The event logs known to be kept, whose attestations need not send them again.
    let keptEventLogs = KeptEventLogs()

    /// Opens (creating and migrating) the SQLite database at `path`, sealing with `key`; with
    /// `auditSigner`, every commit that takes the audit chain `interval` records past its
    /// last checkpoint also signs the new head.
    public convenience init(
        path: String, key: KeyEncryptionKey, auditSigner: AuditSigner? = nil, appliance: String? = nil,
        limits: Limits = Limits()
    ) throws(StoreError) {
        try self.init(
            location: .sqlite(path: path), key: key, auditSigner: auditSigner, appliance: appliance, limits: limits)
    }

    /// Opens (creating and migrating) the database at `location`, as
    /// ``init(path:key:auditSigner:appliance:limits:)`` does; the audit records it appends
    /// name `appliance`.
    public init(
        location: StoreLocation, key: KeyEncryptionKey, auditSigner: AuditSigner? = nil, appliance: String? = nil,
        limits: Limits = Limits()
    ) throws(StoreError) {
        let beforeCommit = Self.checkpointing(with: auditSigner)
        switch location {
        case .sqlite(let path):
            database = try SQLiteDatabase(path: path, beforeCommit: beforeCommit)
        case .postgres(let postgres, let password):
            database = try PostgresDatabase(
                location: postgres, password: password?.revealedText, beforeCommit: beforeCommit)
        }
        self.key = key
        self.auditSigner = auditSigner
        self.appliance = appliance
        self.limits = limits
    }

    /// What each commit does last: sign the audit chain's head when a checkpoint is due.
    private static func checkpointing(with signer: AuditSigner?) -> (@Sendable (SQLTransaction) throws -> Void)? {
        guard let signer else { return nil }
        return { db in try db.checkpointAudit(with: signer, force: false, now: Date()) }
    }

    /// The names of the migrations applied, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try storeError { try database.appliedMigrations() }
    }

    /// Throws unless the database takes writes now (for a readiness probe).
    public func checkWritable() throws(StoreError) {
        try storeError { try database.checkWritable() }
    }

    /// What the backend's own check of its storage found (`PRAGMA integrity_check` on SQLite).
    public func integrityCheck() throws(StoreError) -> String {
        try storeError { try database.integrityCheck() }
    }

    static func diskKeyIdentity(machineID: Int64) -> String { "machine/\(machineID)/disk-key" }

    func read<T>(_ body: (SQLTransaction) throws -> T) throws(StoreError) -> T {
        try storeError { try database.read(body) }
    }

    /// A read whose queries need not see one state together (see ``StoreDatabase/readStatement(_:)``).
    func readStatement<T>(_ body: (SQLTransaction) throws -> T) throws(StoreError) -> T {
        try storeError { try database.readStatement(body) }
    }

    /// A write, returning once it is durably committed; its audit records are counted then.
    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) throws(StoreError) -> T {
        let appended = AppendedRecords()
        let result = try storeError { try database.write(counting(body, in: appended)) }
        StoreMetrics.auditRecords.increment(by: appended.count)
        return result
    }

    /// A write as ``write(_:)`` makes it, holding no thread while it waits for its commit.
    func write<T>(_ body: @escaping (SQLTransaction) throws -> T) async throws(StoreError) -> T {
        let appended = AppendedRecords()
        let started = ContinuousClock.now
        defer { StoreMetrics.transactionDuration.record(duration: started.duration(to: .now)) }
        let result: T
        do { result = try await database.write(counting(body, in: appended)) } catch { throw StoreError(error) }
        StoreMetrics.auditRecords.increment(by: appended.count)
        return result
    }

    /// `body`, run in this store's name, counting the audit records it appends in `appended`.
    private func counting<T>(_ body: @escaping (SQLTransaction) throws -> T, in appended: AppendedRecords)
        -> (SQLTransaction) throws -> T
    {
        { [appliance] db in
            db.memo.appliance = appliance
            let before = db.memo.appendedRecords
            let result = try body(db)
            appended.count = db.memo.appendedRecords - before
            return result
        }
    }

    /// What `body` returns, timed (``StoreMetrics/transactionDuration``); what it throws, as a ``StoreError``.
    private func storeError<T>(_ body: () throws -> T) throws(StoreError) -> T {
        let started = ContinuousClock.now
        defer { StoreMetrics.transactionDuration.record(duration: started.duration(to: .now)) }
        do { return try body() } catch { throw StoreError(error) }
    }
}

extension EnrolmentStore {
    /// A fresh nonce for machine `machineID`; nothing is written (``AttestationNonce``).
    func makeNonce(machineID: Int64, now: Date) -> [UInt8] {
        AttestationNonce(machineID: machineID, now: now).bytes(key: key.derivedKey(for: AttestationNonce.purpose))
    }

    /// `nonce`, presented by machine `machineID` at `now`; throws why it is refused whether
    /// or not it was used: not one this store's key made, issued to another machine, or expired.
    func acceptedNonce(_ nonce: [UInt8], machineID: Int64, now: Date) throws(StoreError) -> AttestationNonce {
        try AttestationNonce(
            accepting: nonce, key: key.derivedKey(for: AttestationNonce.purpose), machineID: machineID, now: now)
    }
}

extension SQLTransaction {
    /// Sends the use of `nonce` (its bytes `bytes`), which
    /// ``EnrolmentStore/acceptedNonce(_:machineID:now:)`` accepted, without waiting: kept
    /// until after the nonce expired (``EnrolmentStore/expireUnclaimed(now:)``), a use is made
    /// once. ``checkNonceUse(_:)`` reads the answer once a later statement was waited for.
    /// The row it returns, not a count of changed rows, says whether this use was the first:
    /// PostgreSQL then runs it as a prepared statement, in the writer every appliance waits for.
    func sendNonceUse(_ nonce: AttestationNonce, bytes: [UInt8], now: Date) throws -> SQLLaterRows {
        try enqueueQuery(
            sql: """
                INSERT INTO machineNonce (machineID, value, expiresAt, usedAt) VALUES (?, ?, ?, ?)
                ON CONFLICT DO NOTHING RETURNING machineID
                """,
            arguments: [nonce.machineID, Data(bytes), nonce.expiresAt, now])
    }

    /// Throws unless the use sent by ``sendNonceUse(_:bytes:now:)`` was the first.
    func checkNonceUse(_ use: SQLLaterRows) throws {
        guard try use.rows().count == 1 else { throw StoreError.nonce("already used") }
    }
}
