import Attestation
import Foundation
import Octets
import WardenAPI
import WardenCrypto

/// What an operator enrols a machine with.
public struct MachineEnrolment: Sendable {
    public var name: String
    /// TPM2B_PUBLIC of the EK (the default template's, when the EK came as PEM or certificate).
    public var ekPublic: [UInt8]
    /// The EK's TPM name: the machine's identity.
    public var ekName: [UInt8]
    public var ekCertificate: [UInt8]?
    public var macs: [String]
    public var smbiosUUID: String?
    public var cluster: String?
    public var role: MachineRole?
    public var policy: String?
    public var labels: [String]
    /// The catalogue image it network-boots.
    public var image: String?

    public init(
        name: String, ekPublic: [UInt8], ekName: [UInt8], ekCertificate: [UInt8]? = nil, macs: [String] = [],
        smbiosUUID: String? = nil,
        cluster: String? = nil, role: MachineRole? = nil, policy: String? = nil, labels: [String] = [],
        image: String? = nil
    ) {
        self.name = name
        self.ekPublic = ekPublic
        self.ekName = ekName
        self.ekCertificate = ekCertificate
        self.macs = macs
        self.smbiosUUID = smbiosUUID
        self.cluster = cluster
        self.role = role
        self.policy = policy
        self.labels = labels
        self.image = image
    }
}

extension EnrolmentStore {
    /// Enrols a machine by its EK and generates its disk key (32 random bytes), sealed.
    @discardableResult
    public func enroll(_ enrolment: MachineEnrolment, actor: String, now: Date = Date()) throws(StoreError) -> Int64 {
        try write { db in
            guard
                try Int64.fetchOne(db, sql: "SELECT id FROM machine WHERE name = ?", arguments: [enrolment.name]) == nil
            else {
                throw StoreError.duplicate("machine \(enrolment.name)")
            }
            guard
                try Int64.fetchOne(
                    db, sql: "SELECT id FROM machine WHERE ekName = ?", arguments: [Data(enrolment.ekName)]) == nil
            else {
                throw StoreError.duplicate("a machine with this endorsement key")
            }
            let id = try db.insert(
                sql: "INSERT INTO machine (name, state, ekPublic, ekName, createdAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    enrolment.name, SQLTransaction.newMachineState(by: .enrol), Data(enrolment.ekPublic),
                    Data(enrolment.ekName), now,
                ])
            try self.completeEnrolment(db, id: id, enrolment, actor: actor, now: now)
            return id
        }
    }

    /// Records a machine that presented an unknown EK by itself (`warden-agent register`) as
    /// discovered, without secrets; returns its id and state (a known EK's, unchanged). At
    /// most ``Limits/maxDiscoveredMachines`` wait.
    public func discover(ekPublic: [UInt8], ekName: [UInt8], ekCertificate: [UInt8]?, now: Date = Date())
        throws(StoreError) -> (id: Int64, state: MachineState)
    {
        try write { db in
            if let known = try SQLRow.fetchOne(
                db, sql: "SELECT id, state FROM machine WHERE ekName = ?", arguments: [Data(ekName)])
            {
                return (known["id"], known["state"])
            }
            try self.makeRoomForDiscovery(db, now: now)
            let name = "discovered-" + Hex.encode(Array(ekName.suffix(6)))
            let state = SQLTransaction.newMachineState(by: .discover)
            let id = try db.insert(
                sql:
                    "INSERT INTO machine (name, state, ekPublic, ekName, ekCertificate, createdAt) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [name, state, Data(ekPublic), Data(ekName), ekCertificate.map { Data($0) }, now])
            try db.appendAudit(
                actor: "agent", action: "discovery", subject: "machine/\(id)", details: "registered itself as \(name)",
                now: now)
            return (id, state)
        }
    }

    /// Turns discovered machine `id` into an enrolled one named as `enrolment` says; its EK
    /// stays the one it registered with.
    public func adopt(discoveredID id: Int64, as enrolment: MachineEnrolment, actor: String, now: Date = Date())
        throws(StoreError)
    {
        try write { db in
            guard
                let found = try SQLRow.fetchOne(
                    db, sql: "SELECT name, ekName IS NOT NULL AS hasEK FROM machine WHERE id = ?", arguments: [id])
            else {
                throw StoreError.notFound("discovered machine with ID \(id) (`warden machine list` shows the IDs)")
            }
            try db.move(machine: id, named: found["name"], by: .adopt)
            guard found["hasEK"] as Bool else {
                throw StoreError.invalid(
                    "machine \(found["name"] as String) was only seen network-booting, without its EK: enrol it with --ek and its MAC or UUID"
                )
            }
            guard
                try Int64.fetchOne(
                    db, sql: "SELECT id FROM machine WHERE name = ? AND id != ?", arguments: [enrolment.name, id])
                    == nil
            else {
                throw StoreError.duplicate("machine \(enrolment.name)")
            }
            try db.execute(sql: "UPDATE machine SET name = ? WHERE id = ?", arguments: [enrolment.name, id])
            try self.completeEnrolment(db, id: id, enrolment, actor: actor, now: now)
        }
    }

    /// Every machine, by name.
    public func machines() throws(StoreError) -> [MachineSummary] {
        try read { db in
            try SQLRow.fetchAll(db, sql: Self.machineSummarySQL + " ORDER BY m.name").map { try Self.summary($0, db) }
        }
    }

    /// The machine named `name`.
    public func machine(named name: String) throws(StoreError) -> MachineSummary {
        let found = try read { db in
            try SQLRow.fetchOne(db, sql: Self.machineSummarySQL + " WHERE m.name = ?", arguments: [name]).map {
                try Self.summary($0, db)
            }
        }
        guard let found else { throw .notFound("machine \(name)") }
        return found
    }

    /// Revokes a machine: it is refused from now on, with every nonce it was issued (a
    /// nonce's use reads the machine's state in the transaction that records it).
    public func revoke(machineNamed name: String, actor: String, now: Date = Date()) throws(StoreError) {
        try write { db in
            let id = try db.move(machineNamed: name, by: .revoke)
            try db.appendAudit(
                actor: actor, action: "revocation", subject: "machine/\(id)", details: "machine \(name) revoked",
                now: now)
        }
    }

    /// Cluster, role, policy, MACs and labels of a new enrolment, its sealed disk key and
    /// its audit record, in the caller's transaction.
    private func completeEnrolment(
        _ db: SQLTransaction, id: Int64, _ enrolment: MachineEnrolment, actor: String, now: Date
    )
        throws
    {
        var clusterID: Int64?
        if let cluster = enrolment.cluster {
            clusterID = try Int64.fetchOne(db, sql: "SELECT id FROM cluster WHERE name = ?", arguments: [cluster])
            guard clusterID != nil else { throw StoreError.notFound("cluster \(cluster)") }
            guard enrolment.role != nil else {
                throw StoreError.invalid("a machine in a cluster needs a role (server or agent)")
            }
        } else if enrolment.role != nil {
            throw StoreError.invalid("a role needs a cluster")
        }
        if let policy = enrolment.policy,
            try Int64.fetchOne(db, sql: "SELECT id FROM policy WHERE name = ?", arguments: [policy]) == nil
        {
            throw StoreError.notFound("policy \(policy)")
        }
        if let bad = enrolment.labels.first(where: { !Self.isLabel($0) }) {
            throw StoreError.invalid("label \(bad) is not KEY=VALUE")
        }
        if let bad = enrolment.macs.first(where: { MACAddress($0) == nil }) {
            throw StoreError.invalid("\(bad) is not a MAC address")
        }
        let macs = enrolment.macs.compactMap { MACAddress($0)?.description }
        try db.assignImage(enrolment.image, machineID: id)
        let sightings = try db.absorbBootSightings(macs: macs, uuid: enrolment.smbiosUUID?.lowercased())
        try db.execute(
            sql:
                "UPDATE machine SET ekCertificate = COALESCE(?, ekCertificate), smbiosUUID = ?, clusterID = ?, role = ?, policyName = ?, labels = ? WHERE id = ?",
            arguments: [
                enrolment.ekCertificate.map { Data($0) }, enrolment.smbiosUUID?.lowercased(), clusterID,
                enrolment.role?.rawValue,
                enrolment.policy, enrolment.labels.joined(separator: "\n"), id,
            ])
        for mac in macs {
            guard try Int64.fetchOne(db, sql: "SELECT machineID FROM machineMAC WHERE mac = ?", arguments: [mac]) == nil
            else {
                throw StoreError.duplicate("MAC \(mac)")
            }
            try db.execute(sql: "INSERT INTO machineMAC (mac, machineID) VALUES (?, ?)", arguments: [mac, id])
        }
        let identity = Self.diskKeyIdentity(machineID: id)
        try db.execute(
            sql: "INSERT INTO sealedSecret (identity, machineID, sealed) VALUES (?, ?, ?)",
            arguments: [identity, id, Data(try db.seal(SecureRandom.bytes(32), identity: identity, under: key))])
        let placement = enrolment.cluster.map { " in cluster \($0) as \(enrolment.role?.rawValue ?? "")" } ?? ""
        let absorbed = sightings.isEmpty ? "" : " (seen network-booting as \(sightings.joined(separator: ", ")))"
        try db.appendAudit(
            actor: actor, action: "enrolment", subject: "machine/\(id)",
            details: "enrolled \(enrolment.name)\(placement)\(absorbed)", now: now)
    }

    private static let machineSummarySQL = """
        SELECT m.id, m.name, m.state, m.ekName, m.ekCertificate IS NOT NULL AS hasCertificate, m.smbiosUUID, c.name AS cluster,
            m.role, m.policyName, m.labels, i.name AS image, m.createdAt, m.secureBootEnrolledAt FROM machine m
            LEFT JOIN cluster c ON c.id = m.clusterID
            LEFT JOIN image i ON i.id = m.imageID
        """

    private static func summary(_ row: SQLRow, _ db: SQLTransaction) throws -> MachineSummary {
        let id: Int64 = row["id"]
        let labels: String = row["labels"]
        return MachineSummary(
            id: id, name: row["name"], state: row["state"],
            ekName: Hex.encode([UInt8]((row["ekName"] as Data?) ?? Data())),
            hasEKCertificate: row["hasCertificate"],
            macs: try String.fetchAll(
                db, sql: "SELECT mac FROM machineMAC WHERE machineID = ? ORDER BY mac", arguments: [id]),
            smbiosUUID: row["smbiosUUID"], cluster: row["cluster"],
            role: (row["role"] as String?).flatMap(MachineRole.init(rawValue:)),
            policy: row["policyName"], labels: labels.split(separator: "\n").map(String.init), image: row["image"],
            createdAt: row["createdAt"], secureBootEnrolledAt: row["secureBootEnrolledAt"])
    }

    static func isLabel(_ text: String) -> Bool {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && text.count <= 317 && !text.contains("\n")
            && parts[0].allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
    }
}

extension EnrolmentStore {
    /// The EK certificate a machine was enrolled or discovered with.
    public func ekCertificate(machineID: Int64) throws(StoreError) -> [UInt8]? {
        try read { db in
            try Data.fetchOne(db, sql: "SELECT ekCertificate FROM machine WHERE id = ?", arguments: [machineID]).map {
                [UInt8]($0)
            }
        }
    }
}
