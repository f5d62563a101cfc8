import Attestation
import Foundation
import TPM
import WardenAPI

/// One stored attestation's evidence, as it arrived, and its verdict.
public struct StoredEvidence: Sendable {
    public let id: Int64
    public let machineID: Int64
    public let evidence: Evidence
    public let passed: Bool
    /// Set when the quote itself verified and only the policy refused it.
    public let policyID: Int64?
}

/// Which attestations a listing holds, newest first.
public struct AttestationFilter: Sendable, Equatable {
    /// A machine's name.
    public var machine: String?
    /// Only passing (true) or refused (false) ones.
    public var passed: Bool?
    /// Recorded at or after, and at or before.
    public var since: Date?
    public var until: Date?
    public var limit: Int

    public init(machine: String? = nil, passed: Bool? = nil, since: Date? = nil, until: Date? = nil, limit: Int = 50) {
        self.machine = machine
        self.passed = passed
        self.since = since
        self.until = until
        self.limit = limit
    }
}

extension EnrolmentStore {
    /// The machine's latest attestations, newest first.
    public func attestations(machineID: Int64, limit: Int = 20) throws(StoreError) -> [AttestationSummary] {
        try read { db in
            try SQLRow.fetchAll(
                db, sql: Self.summarySelect() + " WHERE a.machineID = ? ORDER BY a.id DESC LIMIT ?",
                arguments: [machineID, limit]
            ).map(AttestationSummary.init(row:))
        }
    }

    /// The attestations `filter` picks, newest first.
    public func attestations(matching filter: AttestationFilter) throws(StoreError) -> [AttestationSummary] {
        let conditions = [
            ("m.name = ?", filter.machine.map(SQLValue.text)), ("a.passed = ?", filter.passed.map(SQLValue.boolean)),
            ("a.createdAt >= ?", filter.since.map(SQLValue.timestamp)),
            ("a.createdAt <= ?", filter.until.map(SQLValue.timestamp)),
        ].compactMap { condition, value in value.map { (condition, $0) } }
        let sql =
            Self.summarySelect()
            + (conditions.isEmpty ? "" : " WHERE " + conditions.map(\.0).joined(separator: " AND "))
            + " ORDER BY a.id DESC LIMIT ?"
        return try read { db in
            try SQLRow.fetchAll(
                db, sql: sql, arguments: SQLArguments(conditions.map(\.1) + [.integer(Int64(filter.limit))])
            ).map(
                AttestationSummary.init(row:))
        }
    }

    /// Attestation `id` and the event log its agent sent.
    public func attestation(id: Int64) throws(StoreError) -> (summary: AttestationSummary, eventLog: [UInt8]?) {
        let row = try read { db in
            try SQLRow.fetchOne(
                db,
                sql: Self.summarySelect(alsoSelecting: ", \(SQLTransaction.attestationEventLog) AS eventLogBytes")
                    + " WHERE a.id = ?", arguments: [id])
        }
        guard let row else { throw .notFound("attestation \(id)") }
        return (AttestationSummary(row: row), (row["eventLogBytes"] as Data?).map { [UInt8]($0) })
    }

    /// The columns of an ``AttestationSummary`` (and `extra` ones, each after a comma).
    private static func summarySelect(alsoSelecting extra: String = "") -> String {
        """
        SELECT a.id, m.name AS machine, a.passed, a.reasons, a.createdAt, p.name || '@' || p.version AS policy, a.bootReference\(extra)
        FROM attestation a JOIN machine m ON m.id = a.machineID LEFT JOIN policy p ON p.id = a.policyID
        """
    }

    /// The evidence of attestation `id` of `machine`, or of its latest refused one (its
    /// latest passing one with `passing`).
    public func evidence(of machine: MachineSummary, attestationID id: Int64?, orLatestPassing passing: Bool = false)
        throws(StoreError) -> StoredEvidence
    {
        let machineID = machine.id
        let row = try read { db in
            let select = """
                SELECT a.*, \(SQLTransaction.attestationEventLog) AS eventLogBytes, k.public AS akPublic FROM attestation a
                JOIN attestationKey k ON k.id = a.attestationKeyID WHERE a.machineID = ?
                """
            return try id.map { try SQLRow.fetchOne(db, sql: select + " AND a.id = ?", arguments: [machineID, $0]) }
                ?? SQLRow.fetchOne(
                    db, sql: select + " AND a.passed = ? ORDER BY a.id DESC LIMIT 1", arguments: [machineID, passing])
        }
        guard let row else {
            throw .notFound(
                id.map { "attestation \($0) of \(machine.name)" }
                    ?? "\(passing ? "passing" : "refused") attestation of \(machine.name)")
        }
        return StoredEvidence(
            id: row["id"], machineID: machineID, evidence: EvidenceFiles(attestationRow: row).evidence,
            passed: row["passed"], policyID: row["policyID"])
    }
}

extension AttestationSummary {
    init(row: SQLRow) {
        let reasons: String = row["reasons"]
        self.init(
            id: row["id"], machine: row["machine"], passed: row["passed"],
            reasons: reasons.split(separator: "\n").map(String.init), policy: row["policy"],
            unmeasured: (row["bootReference"] as [UInt8]?).flatMap { try? BootReference(json: $0) }?.unmeasured,
            createdAt: row["createdAt"])
    }
}
