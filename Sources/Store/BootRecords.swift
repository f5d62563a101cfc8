import Attestation
import Foundation
import WardenAPI

/// Where a machine that asks the boot server for its script stands.
public struct BootTarget: Sendable, Equatable {
    public let machineID: Int64
    public let name: String
    /// `discovered`, `enrolled`, `active` or `revoked`.
    public let state: MachineState

    public init(machineID: Int64, name: String, state: MachineState) {
        self.machineID = machineID
        self.name = name
        self.state = state
    }
}

/// What iPXE told the boot server about a machine it does not know.
public struct BootSighting: Sendable, Equatable {
    /// Lowercase MAC, when iPXE sent one.
    public var mac: String?
    /// Lowercase SMBIOS UUID, when iPXE sent one.
    public var uuid: String?
    public var platform: String?
    public var arch: String?
    /// The address the request came from.
    public var client: String

    public init(mac: String?, uuid: String?, platform: String?, arch: String?, client: String) {
        self.mac = mac
        self.uuid = uuid
        self.platform = platform
        self.arch = arch
        self.client = client
    }
}

extension EnrolmentStore {
    /// The machine a booting client names: by MAC first, then by SMBIOS UUID.
    public func bootTarget(mac: String?, uuid: String?) throws(StoreError) -> BootTarget? {
        try read { db in try Self.bootTarget(db, mac: mac, uuid: uuid) }
    }

    /// Clears the legacy BIOS mark of machine `name`: attestations of the boot it was bound
    /// to are judged by their evidence alone again. Audited.
    public func clearLegacyBootMark(machineNamed name: String, actor: String, now: Date = Date()) throws(StoreError) {
        try write { db in
            guard
                let row = try SQLRow.fetchOne(
                    db, sql: "SELECT id, legacyBootResetCount FROM machine WHERE name = ?", arguments: [name])
            else {
                throw StoreError.notFound("machine \(name)")
            }
            guard let resetCount = row["legacyBootResetCount"] as Int64? else {
                throw StoreError.invalid("machine \(name) carries no legacy boot mark")
            }
            try db.execute(
                sql: "UPDATE machine SET legacyBootResetCount = NULL WHERE id = ?", arguments: [row["id"] as Int64])
            try db.appendAudit(
                actor: actor, action: "legacy-mark-cleared", subject: "machine/\(row["id"] as Int64)",
                details: "cleared the legacy BIOS mark of \(name) (TPM reset count \(resetCount))", now: now)
        }
    }

    /// Records a booting machine nobody enrolled as discovered, with its MAC and UUID and
    /// no endorsement key (until an operator enrols it by its EK, which takes this row's
    /// place): one row per MAC or UUID, at most ``Limits/maxDiscoveredMachines`` waiting.
    public func discoverAtBoot(_ sighting: BootSighting, now: Date = Date()) throws(StoreError) -> BootTarget {
        guard sighting.mac != nil || sighting.uuid != nil else {
            throw .invalid("a booting machine is known by its MAC or UUID")
        }
        return try write { db in
            if let known = try Self.bootTarget(db, mac: sighting.mac, uuid: sighting.uuid) { return known }
            try self.makeRoomForDiscovery(db, now: now)
            let name =
                "boot-"
                + (sighting.mac.map { $0.replacingOccurrences(of: ":", with: "") }
                    ?? String(sighting.uuid?.prefix(13) ?? ""))
            let state = SQLTransaction.newMachineState(by: .discover)
            let id = try db.insert(
                sql: "INSERT INTO machine (name, state, ekPublic, smbiosUUID, createdAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [name, state, [UInt8](), sighting.uuid, now])
            if let mac = sighting.mac {
                try db.execute(sql: "INSERT INTO machineMAC (mac, machineID) VALUES (?, ?)", arguments: [mac, id])
            }
            let seen = [
                sighting.mac.map { "MAC \($0)" }, sighting.uuid.map { "UUID \($0)" },
                sighting.platform.map { "platform \($0)" },
                sighting.arch.map { "arch \($0)" },
            ].compactMap { $0 }.joined(separator: ", ")
            try db.appendAudit(
                actor: "boot/\(sighting.client)", action: "discovery", subject: "machine/\(id)",
                details: "network-booted unknown machine recorded as \(name): \(seen)", now: now)
            return BootTarget(machineID: id, name: name, state: state)
        }
    }

    static func bootTarget(_ db: SQLTransaction, mac: String?, uuid: String?) throws -> BootTarget? {
        let byMAC =
            "SELECT m.id, m.name, m.state FROM machine m JOIN machineMAC a ON a.machineID = m.id WHERE a.mac = ?"
        let row =
            try mac.flatMap { try SQLRow.fetchOne(db, sql: byMAC, arguments: [$0]) }
            ?? uuid.flatMap {
                try SQLRow.fetchOne(
                    db, sql: "SELECT id, name, state FROM machine WHERE smbiosUUID = ? ORDER BY id LIMIT 1",
                    arguments: [$0])
            }
        return row.map { BootTarget(machineID: $0["id"], name: $0["name"], state: $0["state"]) }
    }
}

extension SQLTransaction {
    /// Removes the rows of machines that were only seen at boot (no EK) and carry one of
    /// `macs` or `uuid`: an enrolment of the same hardware takes their place. Returns
    /// their names.
    func absorbBootSightings(macs: [String], uuid: String?) throws -> [String] {
        let marks = macs.map { _ in "?" }.joined(separator: ",")
        // A discovered row is forgotten (MachineLifecycle) when its hardware is enrolled.
        let arguments = SQLArguments([MachineState.discovered.sqlValue] + macs.map(\.sqlValue) + [uuid.sqlValue])
        let sql = """
            SELECT id, name FROM machine WHERE state = ? AND ekName IS NULL
            AND (id IN (SELECT machineID FROM machineMAC WHERE mac IN (\(marks.isEmpty ? "NULL" : marks))) OR smbiosUUID = ?)
            """
        let rows = try SQLRow.fetchAll(self, sql: sql, arguments: arguments)
        for row in rows { try execute(sql: "DELETE FROM machine WHERE id = ?", arguments: [row["id"] as Int64]) }
        return rows.map { $0["name"] }
    }
}
