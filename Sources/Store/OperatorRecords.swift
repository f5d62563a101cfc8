import Foundation
import WardenAPI

extension EnrolmentStore {
    /// Records a client certificate Warden issued; only recorded, unrevoked certificates
    /// open the admin API. Recording the same serial again changes nothing.
    public func recordOperatorCertificate(
        serial: String, name: String, role: OperatorRole, actor: String, now: Date = Date()
    ) throws(StoreError) {
        try write { db in
            try db.recordOperatorCertificate(serial: serial, name: name, role: role, actor: actor, now: now)
        }
    }

    /// Revokes every certificate issued to `name`; returns how many.
    @discardableResult
    public func revokeOperator(named name: String, actor: String, now: Date = Date()) throws(StoreError) -> Int {
        try write { db in
            let count = try db.execute(
                sql: "UPDATE operatorCertificate SET revokedAt = ? WHERE name = ? AND revokedAt IS NULL",
                arguments: [now, name])
            guard count > 0 else { throw StoreError.notFound("unrevoked certificate of operator \(name)") }
            try db.appendAudit(
                actor: actor, action: "operator-revoked", subject: "operator/\(name)",
                details: "\(count) certificate(s) revoked", now: now)
            return count
        }
    }

    /// The certificate with this serial, if Warden issued it.
    public func operatorCertificate(serial: String) throws(StoreError) -> OperatorCertificate? {
        try read { db in
            try SQLRow.fetchOne(db, sql: "SELECT * FROM operatorCertificate WHERE serial = ?", arguments: [serial]).map(
                OperatorCertificate.init(row:))
        }
    }

    /// Every certificate issued, by name.
    public func operatorCertificates() throws(StoreError) -> [OperatorCertificate] {
        try read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM operatorCertificate ORDER BY name, issuedAt").map(
                OperatorCertificate.init(row:))
        }
    }
}

extension OperatorCertificate {
    init(row: SQLRow) {
        self.init(
            serial: row["serial"], name: row["name"], role: OperatorRole(rawValue: row["role"]) ?? .auditor,
            issuedAt: row["issuedAt"], revokedAt: row["revokedAt"])
    }
}

extension SQLTransaction {
    /// Records an operator certificate, audited, in the caller's transaction (once per serial).
    func recordOperatorCertificate(serial: String, name: String, role: OperatorRole, actor: String, now: Date) throws {
        guard
            try String.fetchOne(
                self, sql: "SELECT serial FROM operatorCertificate WHERE serial = ?", arguments: [serial])
                == nil
        else { return }
        try execute(
            sql: "INSERT INTO operatorCertificate (serial, name, role, issuedAt) VALUES (?, ?, ?, ?)",
            arguments: [serial, name, role.rawValue, now])
        try appendAudit(
            actor: actor, action: "operator-certificate", subject: "operator/\(name)",
            details: "issued \(role.rawValue) certificate \(serial)", now: now)
    }
}
