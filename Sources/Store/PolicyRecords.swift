import Foundation
import WardenAPI
import WardenCrypto

/// A policy made from a machine's own evidence (trust on first use, or an operator's
/// approval), stored as the next version of that machine's policy.
public struct PolicyPin: Sendable {
    public let name: String
    public let yaml: String
    public init(name: String, yaml: String) {
        self.name = name
        self.yaml = yaml
    }
}

extension EnrolmentStore {
    /// Stores `yaml` as the next version of policy `name` and audits it, unless the latest
    /// version has the same rules (`sameRules(latest)`): applying one file twice makes one
    /// version. Returns the latest version before, and the one stored (nil: unchanged).
    public func applyPolicy(
        name: String, yaml: String, actor: String, now: Date = Date(),
        sameRules: @escaping @Sendable (PolicyVersion) -> Bool
    ) throws(StoreError) -> (previous: PolicyVersion?, stored: PolicyVersion?) {
        try write { db in
            let latest = try db.latestPolicy(name: name)
            if let latest, sameRules(latest) { return (latest, nil) }
            return (latest, try db.savePolicy(name: name, yaml: yaml, actor: actor, now: now))
        }
    }

    /// Stores `yaml` as the next version of policy `name` and audits it; versions are never replaced.
    @discardableResult
    public func savePolicy(name: String, yaml: String, actor: String, now: Date = Date()) throws(StoreError)
        -> PolicyVersion
    {
        try write { db in try db.savePolicy(name: name, yaml: yaml, actor: actor, now: now) }
    }

    /// The latest version of policy `name`.
    public func latestPolicy(name: String) throws(StoreError) -> PolicyVersion? {
        try read { db in try db.latestPolicy(name: name) }
    }

    /// The latest version of every policy, by name.
    public func latestPolicies() throws(StoreError) -> [PolicyVersion] {
        try read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT id, name, version, yaml FROM policy p
                    WHERE version = (SELECT MAX(version) FROM policy WHERE name = p.name) ORDER BY name
                    """
            ).map(PolicyVersion.init(row:))
        }
    }

    /// The policy a machine is held to, if it has one yet.
    public func policyName(machineID: Int64) throws(StoreError) -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT policyName FROM machine WHERE id = ?", arguments: [machineID])
        }
    }

    /// Holds the machine to `pin` from now on, as an operator's approval: a new version of
    /// its own policy, audited. Only a machine in service is approved (``MachineEvent/approve``).
    @discardableResult
    public func approve(_ pin: PolicyPin, machineID: Int64, actor: String, reason: String, now: Date = Date())
        throws(StoreError) -> PolicyVersion
    {
        try write { db in
            let name = try String.fetchOne(db, sql: "SELECT name FROM machine WHERE id = ?", arguments: [machineID])
            try db.move(machine: machineID, named: name ?? "\(machineID)", by: .approve)
            return try db.pin(pin, machineID: machineID, actor: actor, reason: reason, now: now)
        }
    }
}

extension PolicyVersion {
    init(row: SQLRow) {
        self.init(id: row["id"], name: row["name"], version: row["version"], yaml: row["yaml"])
    }
}

extension SQLTransaction {
    func latestPolicy(name: String) throws -> PolicyVersion? {
        try SQLRow.fetchOne(
            self, sql: "SELECT id, name, version, yaml FROM policy WHERE name = ? ORDER BY version DESC LIMIT 1",
            arguments: [name]
        )
        .map(PolicyVersion.init(row:))
    }

    func savePolicy(name: String, yaml: String, actor: String, now: Date) throws -> PolicyVersion {
        let version =
            (try Int.fetchOne(self, sql: "SELECT MAX(version) FROM policy WHERE name = ?", arguments: [name]) ?? 0) + 1
        let id = try insert(
            sql: "INSERT INTO policy (name, version, yaml, createdAt) VALUES (?, ?, ?, ?)",
            arguments: [name, version, yaml, now])
        try appendAudit(
            actor: actor, action: "policy-version", subject: "policy/\(name)/\(version)",
            details: "stored as version \(version)",
            evidenceSHA256: DigestAlgorithm.sha256.hash(Array(yaml.utf8)), now: now)
        return PolicyVersion(id: id, name: name, version: version, yaml: yaml)
    }

    func pin(_ pin: PolicyPin, machineID: Int64, actor: String, reason: String, now: Date) throws -> PolicyVersion {
        let version = try savePolicy(name: pin.name, yaml: pin.yaml, actor: actor, now: now)
        try execute(sql: "UPDATE machine SET policyName = ? WHERE id = ?", arguments: [pin.name, machineID])
        try appendAudit(
            actor: actor, action: "policy-pinned", subject: "machine/\(machineID)",
            details: "\(reason): policy \(pin.name) version \(version.version)", now: now)
        return version
    }
}
