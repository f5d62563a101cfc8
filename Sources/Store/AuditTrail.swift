import Foundation

/// Signs the audit chain's head (Ed25519 with the audit key) at least every ``interval``
/// records and when asked (at shutdown).
public struct AuditSigner: Sendable {
    /// At most this many records go unsigned by a checkpoint while the server runs.
    public let interval: Int64
    private let signature: @Sendable ([UInt8]) throws -> [UInt8]

    /// `sign` returns the signature of a message with the audit key.
    public init(interval: Int64, sign: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
        precondition(interval > 0, "a checkpoint interval is at least one record")
        self.interval = interval
        self.signature = sign
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] { try signature(message) }
}

extension SQLTransaction {
    /// Appends an audit record, chained to the one before, in the caller's transaction, so
    /// the change and its record commit together or not at all. Writes are serialised, so
    /// the head read here is the head the record follows.
    func appendAudit(
        actor: String, action: String, subject: String, details: String, evidenceSHA256: [UInt8]? = nil, now: Date
    ) throws {
        try appendAudit(
            [
                AuditEvent(
                    actor: actor, action: action, subject: subject, details: details, evidenceSHA256: evidenceSHA256)
            ], now: now)
    }

    /// Appends a record of each of `events`, in order, as ``appendAudit(actor:action:subject:details:evidenceSHA256:now:)``
    /// appends one, in as few statements as can carry them (on PostgreSQL each is a round
    /// trip in the writer every appliance waits for).
    func appendAudit(_ events: [AuditEvent], now: Date) throws {
        let time = AuditChain.timestamp(now)
        var head = try memo.auditHead ?? auditHead()
        let records = events.map { event in
            let record = AuditRecord.chained(
                after: head, time: time, appliance: memo.appliance, actor: event.actor, action: event.action,
                subject: event.subject, details: event.details, evidenceSHA256: event.evidenceSHA256)
            head = (record.sequence, record.hash)
            return record
        }
        // A record that names no appliance is stored as the first format was (the schema of
        // the migration that started the chain has no appliance column yet).
        let named = memo.appliance != nil
        let row = "(?, ?, \(named ? "?, " : "")?, ?, ?, ?, ?, ?, ?)"
        for chunk in stride(from: 0, to: records.count, by: Self.auditRowsPerStatement) {
            let rows = records[chunk..<min(chunk + Self.auditRowsPerStatement, records.count)]
            // Nobody reads the answer: sent without waiting, it fails the transaction's next
            // statement waited for (its commit at the latest) if it fails.
            try enqueue(
                sql: """
                    INSERT INTO auditRecord (sequence, time, \(named ? "appliance, " : "")actor, action, subject, details,
                        evidenceSHA256, previousHash, hash)
                    VALUES \(Array(repeating: row, count: rows.count).joined(separator: ", "))
                    """,
                arguments: SQLArguments(rows.flatMap(\.columnValues)))
        }
        memo.appendedRecords += records.count
        memo.auditHead = head
    }

    /// At most this many records go in one INSERT (each binds 10 values; SQLite takes 32,766
    /// at most, PostgreSQL 65,535).
    static let auditRowsPerStatement = 500

    /// The chain's last record: its sequence and hash.
    func auditHead() throws -> (sequence: Int64, hash: [UInt8])? {
        try SQLRow.fetchOne(self, sql: "SELECT sequence, hash FROM auditRecord ORDER BY sequence DESC LIMIT 1")
            .map { ($0["sequence"], [UInt8]($0["hash"] as Data)) }
    }

    /// Signs every record a multiple of `signer`'s interval past the last checkpoint (so
    /// that one transaction appending many records still gets one every interval) and,
    /// with `force`, the head whenever it is not signed yet.
    func checkpointAudit(with signer: AuditSigner, force: Bool, now: Date) throws {
        guard let head = try memo.auditHead ?? auditHead() else { return }
        let last = try Int64.fetchOne(self, sql: "SELECT MAX(sequence) FROM auditCheckpoint") ?? 0
        var due = Array(stride(from: last + signer.interval, through: head.sequence, by: Int(signer.interval)))
        if force, head.sequence > (due.last ?? last) { due.append(head.sequence) }
        let signedAt = AuditChain.timestamp(now)
        for sequence in due {
            guard
                let hash = try Data.fetchOne(
                    self, sql: "SELECT hash FROM auditRecord WHERE sequence = ?", arguments: [sequence])
            else { continue }
            let signature = try signer.sign(
                AuditChain.checkpointMessage(sequence: sequence, hash: [UInt8](hash), signedAt: signedAt))
            try execute(
                sql: "INSERT INTO auditCheckpoint (sequence, hash, signedAt, signature) VALUES (?, ?, ?, ?)",
                arguments: [sequence, hash, signedAt, Data(signature)])
        }
    }
}

extension EnrolmentStore {
    /// Appends an audit record of an event that changes no other record (server start, say).
    public func audit(actor: String, action: String, subject: String, details: String, now: Date = Date())
        throws(StoreError)
    {
        try write { db in try db.appendAudit(actor: actor, action: action, subject: subject, details: details, now: now)
        }
    }

    /// Audits a refused request that names no record of its own (an unknown EK, say).
    public func auditRefusal(actor: String, subject: String, details: String, now: Date = Date()) throws(StoreError) {
        try audit(actor: actor, action: "refusal", subject: subject, details: details, now: now)
    }

    /// Signs the chain's head now unless it is signed already (at shutdown, say).
    public func checkpointAudit(now: Date = Date()) throws(StoreError) {
        guard let signer = auditSigner else { throw .invalid("this store has no audit signer") }
        try write { db in try db.checkpointAudit(with: signer, force: true, now: now) }
    }

    /// When the chain's head was last signed and at which record (nil: never).
    public func latestAuditCheckpoint() throws(StoreError) -> (signedAt: Date, sequence: Int64)? {
        let row = try readStatement { db in
            try SQLRow.fetchOne(
                db, sql: "SELECT sequence, signedAt FROM auditCheckpoint ORDER BY sequence DESC LIMIT 1")
        }
        guard let row,
            let signedAt = try? Date(
                row["signedAt"] as String, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        else { return nil }
        return (signedAt, row["sequence"])
    }

    /// The audit records about `subjectPrefix`, oldest first.
    public func auditRecords(subjectPrefix: String) throws(StoreError) -> [AuditRecord] {
        try read { db in
            try SQLRow.fetchAll(
                // The prefix exactly, on both backends (LIKE ignores case on SQLite, and reads % and _).
                db, sql: "SELECT * FROM auditRecord WHERE substr(subject, 1, length(?)) = ? ORDER BY sequence",
                arguments: [subjectPrefix, subjectPrefix]
            )
            .map(AuditRecord.init(row:))
        }
    }
}

extension AuditRecord {
    init(row: SQLRow) {
        self.init(
            sequence: row["sequence"], time: row["time"], appliance: row["appliance"], actor: row["actor"],
            action: row["action"],
            subject: row["subject"],
            details: row["details"], evidenceSHA256: (row["evidenceSHA256"] as Data?).map { [UInt8]($0) },
            previousHash: [UInt8](row["previousHash"] as Data), hash: [UInt8](row["hash"] as Data))
    }

    /// The values of its row, in the order ``SQLTransaction/appendAudit(_:now:)`` names the
    /// columns (the appliance's only when it names one).
    var columnValues: [SQLValue] {
        [.integer(sequence), .text(time)] + (appliance.map { [.text($0)] } ?? [])
            + [
                .text(actor), .text(action), .text(subject), .text(details), evidenceSHA256.map { .blob($0) } ?? .null,
                .blob(previousHash), .blob(hash),
            ]
    }
}

/// An event to append to the audit chain.
public struct AuditEvent: Sendable {
    public let actor: String
    public let action: String
    public let subject: String
    public let details: String
    /// The SHA-256 of the evidence it is about (an attestation's), if any.
    public let evidenceSHA256: [UInt8]?

    public init(actor: String, action: String, subject: String, details: String, evidenceSHA256: [UInt8]? = nil) {
        self.actor = actor
        self.action = action
        self.subject = subject
        self.details = details
        self.evidenceSHA256 = evidenceSHA256
    }
}

extension EnrolmentStore {
    /// Appends `events` in order in one transaction (imports, generated load).
    public func audit(_ events: [AuditEvent], now: Date = Date()) throws(StoreError) {
        try write { db in try db.appendAudit(events, now: now) }
    }
}
