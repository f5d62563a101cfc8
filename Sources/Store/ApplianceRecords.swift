import Foundation
import WardenCrypto

/// Whether an appliance may serve: active from its first start or its join, removed by an
/// operator for good.
public enum ApplianceState: String, Sendable, Codable, CaseIterable {
    case active
    case removed
}

/// One appliance sharing the database.
public struct ApplianceRecord: Sendable, Equatable, Codable {
    public let name: String
    public let state: ApplianceState
    /// SHA-256 of its server certificate (DER), as it last started with it.
    public let serverCertificateSHA256: [UInt8]
    /// The PostgreSQL role it connects as (nil on SQLite): what a removal revokes.
    public let databaseRole: String?
    public let joinedAt: Date
    public let removedAt: Date?
}

/// A join bundle issued: its id, the appliance that issued it, and until when it may be used.
public struct ApplianceJoin: Sendable, Equatable {
    public let id: [UInt8]
    public let issuedBy: String
    public let expiresAt: Date

    public init(id: [UInt8], issuedBy: String, expiresAt: Date) {
        self.id = id
        self.issuedBy = issuedBy
        self.expiresAt = expiresAt
    }
}

extension EnrolmentStore {
    /// How long a join bundle may wait for its use.
    public static let joinLifetime: TimeInterval = 86_400

    /// Whether this store is a database several appliances share (PostgreSQL).
    public var isShared: Bool { database is PostgresDatabase }

    /// Records appliance `name` as it starts, with its server certificate's digest: the first
    /// time audited as `appliance-registered`, a new certificate as `appliance-certificate`.
    /// An appliance an operator removed is refused; so, on a shared database that has
    /// appliances already, is a name no join recorded (a removed appliance keeps the shared
    /// keys, and must not come back under another name).
    public func registerAppliance(name: String, serverCertificateSHA256: [UInt8], now: Date = Date())
        throws(StoreError)
    {
        try write { [isShared] db in
            if let known = try db.appliance(named: name) {
                guard known.state == .active else {
                    throw StoreError.invalid(
                        "appliance \(name) was removed at \(AuditChain.timestamp(known.removedAt ?? now)): it may not serve again; join a new one under another name"
                    )
                }
                guard known.serverCertificateSHA256 != serverCertificateSHA256 else { return }
                try db.execute(
                    sql: "UPDATE appliance SET serverCertificateSHA256 = ? WHERE name = ?",
                    arguments: [Data(serverCertificateSHA256), name])
                try db.appendAudit(
                    actor: "system", action: "appliance-certificate", subject: "appliance/\(name)",
                    details: "serves with certificate sha256 \(Hex.encode(serverCertificateSHA256))", now: now)
                return
            }
            if isShared, try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM appliance)") == true {
                throw StoreError.invalid(
                    "appliance \(name) is not a member of this database's appliances: join it with `warden appliance join` (or set applianceName to the name it joined under)"
                )
            }
            try db.insertAppliance(
                name: name, serverCertificateSHA256: serverCertificateSHA256, recordingRole: isShared, now: now)
            try db.appendAudit(
                actor: "system", action: "appliance-registered", subject: "appliance/\(name)",
                details: "first start, certificate sha256 \(Hex.encode(serverCertificateSHA256))", now: now)
        }
    }

    /// Records a join bundle with a new random id, issued by `appliance`; returns it.
    public func issueJoin(by appliance: String, actor: String, now: Date = Date()) throws(StoreError) -> ApplianceJoin {
        let join = ApplianceJoin(
            id: SecureRandom.bytes(16), issuedBy: appliance, expiresAt: now.addingTimeInterval(Self.joinLifetime))
        try write { db in
            try db.execute(
                sql: "INSERT INTO applianceJoin (id, issuedBy, issuedAt, expiresAt) VALUES (?, ?, ?, ?)",
                arguments: [Data(join.id), join.issuedBy, now, join.expiresAt])
            try db.appendAudit(
                actor: actor, action: "appliance-join-issued", subject: "appliance/\(appliance)",
                details: "join bundle \(Hex.encode(join.id)) valid until \(AuditChain.timestamp(join.expiresAt))",
                now: now)
        }
        return join
    }

    /// Spends join bundle `id` for appliance `name`: the bundle must have been issued here,
    /// unused, unexpired, by an appliance not removed, and the name must be new. Records the
    /// appliance and its local operator certificate (`operatorSerial`), audited, all at once.
    public func join(
        id: [UInt8], name: String, serverCertificateSHA256: [UInt8], operatorSerial: String, now: Date = Date()
    ) throws(StoreError) {
        try write { [isShared] db in
            guard
                let row = try SQLRow.fetchOne(
                    db, sql: "SELECT issuedBy, expiresAt, usedBy FROM applianceJoin WHERE id = ?\(db.lockingRows)",
                    arguments: [Data(id)])
            else { throw StoreError.invalid("this join bundle was not issued by an appliance of this database") }
            if let usedBy = row["usedBy"] as String? {
                throw StoreError.invalid("this join bundle was used already (by appliance \(usedBy)): export a new one")
            }
            guard (row["expiresAt"] as Date) > now else {
                throw StoreError.invalid("this join bundle expired: export a new one")
            }
            let issuer: String = row["issuedBy"]
            guard try db.appliance(named: issuer)?.state != .removed else {
                throw StoreError.invalid("this join bundle was issued by appliance \(issuer), which was removed")
            }
            guard try db.appliance(named: name) == nil else {
                throw StoreError.duplicate("appliance \(name) (a removed name is never used again)")
            }
            try db.execute(
                sql: "UPDATE applianceJoin SET usedBy = ?, usedAt = ? WHERE id = ?", arguments: [name, now, Data(id)])
            try db.insertAppliance(
                name: name, serverCertificateSHA256: serverCertificateSHA256, recordingRole: isShared, now: now)
            try db.recordOperatorCertificate(
                serial: operatorSerial, name: "operator", role: .operator, actor: "appliance/\(name)", now: now)
            try db.appendAudit(
                actor: "appliance/\(name)", action: "appliance-joined", subject: "appliance/\(name)",
                details:
                    "joined with bundle \(Hex.encode(id)) from \(issuer), certificate sha256 \(Hex.encode(serverCertificateSHA256))",
                now: now)
        }
    }

    /// Every appliance, by name.
    public func appliances() throws(StoreError) -> [ApplianceRecord] {
        try read { db in try SQLRow.fetchAll(db, sql: "SELECT * FROM appliance ORDER BY name").map(ApplianceRecord.init)
        }
    }

    /// Removes appliance `name` for good, audited: it may not start again, and no join
    /// bundle it issued opens. Then, on PostgreSQL, its own role (when it is not the
    /// caller's) loses its login and its sessions end. Returns the record, and why its role
    /// could not be revoked, if it could not.
    public func removeAppliance(named name: String, actor: String, now: Date = Date()) throws(StoreError) -> (
        appliance: ApplianceRecord, roleLeft: String?
    ) {
        let removed = try write { db in
            guard let known = try db.appliance(named: name) else { throw StoreError.notFound("appliance \(name)") }
            guard known.state == .active else { throw StoreError.invalid("appliance \(name) was removed already") }
            try db.execute(
                sql: "UPDATE appliance SET state = 'removed', removedAt = ? WHERE name = ?", arguments: [now, name])
            db.memo.removedAppliances = nil
            try db.appendAudit(
                actor: actor, action: "appliance-removed", subject: "appliance/\(name)",
                details:
                    "removed: it may not serve again (certificate sha256 \(Hex.encode(known.serverCertificateSHA256)))",
                now: now)
            return try db.appliance(named: name) ?? known
        }
        guard let role = removed.databaseRole else { return (removed, nil) }
        do {
            return (removed, try revokeRole(role, of: name, actor: actor, now: now))
        } catch {
            return (
                removed, "its database role \(role) could not be revoked (\(error)): ALTER ROLE \(role) NOLOGIN by hand"
            )
        }
    }

    /// Takes the login of `role` and ends its sessions, audited; returns why not when it is the
    /// caller's own role.
    private func revokeRole(_ role: String, of name: String, actor: String, now: Date) throws(StoreError) -> String? {
        let refused = try write { db -> String? in
            guard try String.fetchOne(db, sql: "SELECT current_user") != role else {
                return "its database role \(role) is also this appliance's: give each appliance a role of its own"
            }
            try db.execute(sql: "ALTER ROLE \(Self.quotedIdentifier(role)) NOLOGIN")
            try db.appendAudit(
                actor: actor, action: "appliance-role-revoked", subject: "appliance/\(name)",
                details: "database role \(role) may no longer log in", now: now)
            return nil
        }
        // Only after the commit: ending a session cannot be undone.
        if refused == nil {
            _ = try? read { db in
                try db.execute(
                    sql: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ?", arguments: [role])
            }
        }
        return refused
    }

    /// `identifier` quoted for PostgreSQL (`"a""b"`).
    static func quotedIdentifier(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension SQLTransaction {
    func appliance(named name: String) throws -> ApplianceRecord? {
        try SQLRow.fetchOne(self, sql: "SELECT * FROM appliance WHERE name = ?", arguments: [name])
            .map(ApplianceRecord.init)
    }

    /// Inserts appliance `name`, active, with the database role this transaction runs as
    /// when `recordingRole` (PostgreSQL; SQLite has no roles).
    func insertAppliance(name: String, serverCertificateSHA256: [UInt8], recordingRole: Bool, now: Date) throws {
        let role = recordingRole ? try String.fetchOne(self, sql: "SELECT current_user") : nil
        try execute(
            sql: """
                INSERT INTO appliance (name, state, serverCertificateSHA256, databaseRole, joinedAt)
                VALUES (?, 'active', ?, ?, ?)
                """,
            arguments: [name, Data(serverCertificateSHA256), role, now])
    }
}

extension ApplianceRecord {
    init(row: SQLRow) {
        self.init(
            name: row["name"], state: ApplianceState(rawValue: row["state"]) ?? .removed,
            serverCertificateSHA256: [UInt8](row["serverCertificateSHA256"] as Data), databaseRole: row["databaseRole"],
            joinedAt: row["joinedAt"], removedAt: row["removedAt"])
    }
}
