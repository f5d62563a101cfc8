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

extension EnrolmentStore {
    /// The machine's latest attestations, newest first.
    public func attestations(machineID: Int64, limit: Int = 20) throws(StoreError) -> [AttestationSummary] {
        try read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT a.id, a.passed, a.reasons, a.createdAt, p.name || '@' || p.version AS policy, a.bootReference
                    FROM attestation a
                    LEFT JOIN policy p ON p.id = a.policyID WHERE a.machineID = ? ORDER BY a.id DESC LIMIT ?
                    """, arguments: [machineID, limit]
            ).map {
                let reasons: String = $0["reasons"]
                return AttestationSummary(
                    id: $0["id"], passed: $0["passed"], reasons: reasons.split(separator: "\n").map(String.init),
                    policy: $0["policy"],
                    unmeasured: ($0["bootReference"] as [UInt8]?).flatMap { try? BootReference(json: $0) }?.unmeasured,
                    createdAt: $0["createdAt"])
            }
        }
    }

    /// The evidence of attestation `id` of `machineID`, or of its latest refused one (its
    /// latest passing one with `passing`).
    public func evidence(machineID: Int64, attestationID id: Int64?, orLatestPassing passing: Bool = false)
        throws(StoreError) -> StoredEvidence
    {
        let row = try read { db in
            let select = """
                SELECT a.*, k.public AS akPublic FROM attestation a JOIN attestationKey k ON k.id = a.attestationKeyID WHERE a.machineID = ?
                """
            return try id.map { try SQLRow.fetchOne(db, sql: select + " AND a.id = ?", arguments: [machineID, $0]) }
                ?? SQLRow.fetchOne(
                    db, sql: select + " AND a.passed = ? ORDER BY a.id DESC LIMIT 1", arguments: [machineID, passing])
        }
        guard let row else {
            throw .notFound(
                id.map { "attestation \($0) of machine \(machineID)" }
                    ?? "\(passing ? "passing" : "refused") attestation of machine \(machineID)")
        }
        return StoredEvidence(
            id: row["id"], machineID: machineID, evidence: EvidenceFiles(attestationRow: row).evidence,
            passed: row["passed"], policyID: row["policyID"])
    }
}
