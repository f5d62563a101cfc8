import Foundation
import WardenAPI

/// One attestation with its evidence, as an export carries it.
public struct ExportedAttestation: Sendable {
    public let id: Int64
    public let machineID: Int64
    public let machineName: String
    public let passed: Bool
    public let reasons: [String]
    /// The policy version it was judged by, when it got that far.
    public let policyID: Int64?
    public let evidence: EvidenceFiles
}

/// A consistent read of the audit chain and what its records point at, for an export:
/// every query sees the same state of the database, however long the export takes.
public struct AuditSnapshot {
    private let db: SQLTransaction

    fileprivate init(_ db: SQLTransaction) { self.db = db }

    /// The sequences of the records from `from` to `to` (times in the chain's format;
    /// either may be absent): a contiguous stretch, or nil when no record falls in it.
    public func sequences(from: String?, to: String?) throws -> ClosedRange<Int64>? {
        let first = try Int64.fetchOne(
            db, sql: "SELECT MIN(sequence) FROM auditRecord WHERE time >= ?", arguments: [from ?? ""])
        let last = try Int64.fetchOne(
            db, sql: "SELECT MAX(sequence) FROM auditRecord WHERE time <= ?", arguments: [to ?? "9999"])
        guard let first, let last, first <= last else { return nil }
        return first...last
    }

    /// Calls `body` with every record of `sequences` in order, one at a time. They are read
    /// a page at a time, so that no one statement holds the whole chain.
    public func forEachRecord(in sequences: ClosedRange<Int64>, _ body: (AuditRecord) throws -> Void) throws {
        var first = sequences.lowerBound
        while first <= sequences.upperBound {
            let last = first + min(Self.recordsPerPage - 1, sequences.upperBound - first)
            try db.forEachRow(
                sql: "SELECT * FROM auditRecord WHERE sequence BETWEEN ? AND ? ORDER BY sequence",
                arguments: [first, last]
            ) { row in try body(AuditRecord(row: row)) }
            first = last + 1
        }
    }

    /// Records read by one statement of ``forEachRecord(in:_:)``.
    static let recordsPerPage: Int64 = 10_000

    /// The checkpoints of records in `sequences`, in order.
    public func checkpoints(in sequences: ClosedRange<Int64>) throws -> [AuditCheckpoint] {
        try SQLRow.fetchAll(
            db, sql: "SELECT * FROM auditCheckpoint WHERE sequence BETWEEN ? AND ? ORDER BY sequence",
            arguments: [sequences.lowerBound, sequences.upperBound]
        ).map {
            AuditCheckpoint(
                sequence: $0["sequence"], hash: [UInt8]($0["hash"] as Data), signedAt: $0["signedAt"],
                signature: [UInt8]($0["signature"] as Data))
        }
    }

    /// Attestation `id` with its evidence.
    public func attestation(id: Int64) throws -> ExportedAttestation? {
        try SQLRow.fetchOne(
            db,
            sql: """
                SELECT a.*, \(SQLTransaction.attestationEventLog) AS eventLogBytes, k.public AS akPublic, m.name AS machineName
                FROM attestation a
                JOIN attestationKey k ON k.id = a.attestationKeyID JOIN machine m ON m.id = a.machineID WHERE a.id = ?
                """, arguments: [id]
        ).map { row in
            let reasons: String = row["reasons"]
            return ExportedAttestation(
                id: id, machineID: row["machineID"], machineName: row["machineName"], passed: row["passed"],
                reasons: reasons.isEmpty ? [] : reasons.components(separatedBy: "\n"), policyID: row["policyID"],
                evidence: EvidenceFiles(attestationRow: row))
        }
    }

    /// Policy version `id`.
    public func policy(id: Int64) throws -> PolicyVersion? {
        try SQLRow.fetchOne(db, sql: "SELECT id, name, version, yaml FROM policy WHERE id = ?", arguments: [id]).map(
            PolicyVersion.init(row:))
    }

    /// The id of policy `name` version `version`.
    public func policyID(name: String, version: Int) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM policy WHERE name = ? AND version = ?", arguments: [name, version])
    }

    /// The id of the machine named `name`.
    public func machineID(named name: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM machine WHERE name = ?", arguments: [name])
    }
}

extension EnrolmentStore {
    /// Runs `body` on one consistent read of the audit chain.
    /// Errors of `body` reach the caller as they were thrown.
    public func readAudit<T>(_ body: (AuditSnapshot) throws -> T) throws -> T {
        try database.read { db in try body(AuditSnapshot(db)) }
    }
}
