import Foundation
import GRDB

/// One version of a named policy, as stored.
public struct PolicyVersion: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let version: Int
    public let yaml: String
}

extension EnrolmentStore {
    /// Stores `yaml` as the next version of policy `name` and audits it; versions are never replaced.
    @discardableResult
    public func savePolicy(name: String, yaml: String, actor: String, now: Date = Date()) throws(StoreError) -> PolicyVersion {
        try write { db in
            let version = (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM policy WHERE name = ?", arguments: [name]) ?? 0) + 1
            try db.execute(sql: "INSERT INTO policy (name, version, yaml, createdAt) VALUES (?, ?, ?, ?)", arguments: [name, version, yaml, now])
            let id = db.lastInsertedRowID
            try db.execute(
                sql: "INSERT INTO audit (time, actor, action, subject, details) VALUES (?, ?, 'policy-version', ?, ?)",
                arguments: [now, actor, "policy/\(name)/\(version)", "stored as version \(version)"])
            return PolicyVersion(id: id, name: name, version: version, yaml: yaml)
        }
    }

    /// The latest version of policy `name`.
    public func latestPolicy(name: String) throws(StoreError) -> PolicyVersion? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT id, name, version, yaml FROM policy WHERE name = ? ORDER BY version DESC LIMIT 1", arguments: [name])
                .map { PolicyVersion(id: $0["id"], name: $0["name"], version: $0["version"], yaml: $0["yaml"]) }
        }
    }

    /// The policy a machine is held to, if it has one yet.
    public func policyName(machineID: Int64) throws(StoreError) -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT policyName FROM machine WHERE id = ?", arguments: [machineID]) }
    }

    /// Holds the machine to policy `name` from now on.
    public func setPolicy(machineID: Int64, name: String) throws(StoreError) {
        try write { db in try db.execute(sql: "UPDATE machine SET policyName = ? WHERE id = ?", arguments: [name, machineID]) }
    }
}
