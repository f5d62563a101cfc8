import Attestation
import Foundation
import WardenAPI

/// What ``EnrolmentStore/expireUnclaimed(now:)`` forgot.
public struct ExpiredRows: Sendable, Equatable {
    /// Names of discovered machines nobody adopted within their lifetime.
    public var machines: [String] = []
    /// Uses of nonces past their lifetime and the clock skew appliances tolerate.
    public var nonces = 0
    /// Image parts no image claimed within ``EnrolmentStore/orphanImagePartLifetime``.
    public var imageParts = 0
}

extension EnrolmentStore {
    /// Forgets what nobody claimed in time: discovered machines past
    /// ``Limits/discoveredMachineLifetime`` (audited, in one record), the uses of expired nonces, and the
    /// parts of image uploads that never became an image.
    @discardableResult
    public func expireUnclaimed(now: Date = Date()) throws(StoreError) -> ExpiredRows {
        try write { db in
            var expired = ExpiredRows()
            expired.machines = try self.expireDiscoveredMachines(db, now: now)
            // A use outlives its nonce by the clock skew appliances tolerate: an appliance whose
            // clock runs behind still takes the nonce for unexpired, and must still find it used.
            expired.nonces = try db.execute(
                sql: "DELETE FROM machineNonce WHERE expiresAt < ?",
                arguments: [now.addingTimeInterval(-AttestationNonce.clockSkew)])
            expired.imageParts = try db.execute(
                sql: """
                    DELETE FROM imagePart WHERE storedAt < ?
                        AND NOT EXISTS (
                            SELECT 1 FROM image WHERE image.sha256 = imagePart.sha256 OR image.signedSHA256 = imagePart.sha256)
                    """, arguments: [now.addingTimeInterval(-Self.orphanImagePartLifetime)])
            return expired
        }
    }

    /// Forgets discovered machine `name`, which nobody enrolled: an operator's answer to a
    /// machine that will never be adopted. Audited.
    public func forget(discoveredMachineNamed name: String, actor: String, now: Date = Date()) throws(StoreError) {
        try write { db in
            let id = try db.move(machineNamed: name, by: .forget)
            try db.execute(sql: "DELETE FROM machine WHERE id = ?", arguments: [id])
            try db.appendAudit(
                actor: actor, action: "discovery-forgotten", subject: "machine/\(id)",
                details: "forgot discovered machine \(name)", now: now)
        }
    }

    /// Before a new discovered machine is recorded: expired ones are forgotten, and the
    /// cap must leave room.
    func makeRoomForDiscovery(_ db: SQLTransaction, now: Date) throws {
        _ = try expireDiscoveredMachines(db, now: now)
        let waiting =
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM machine WHERE state = ?", arguments: [MachineState.discovered]) ?? 0
        guard waiting < limits.maxDiscoveredMachines else {
            throw StoreError.limit("\(waiting) discovered machines already wait for an operator")
        }
    }

    /// Forgets discovered machines older than their lifetime, with one audit record naming
    /// the first few; returns their names.
    private func expireDiscoveredMachines(_ db: SQLTransaction, now: Date) throws -> [String] {
        let cutoff = now.addingTimeInterval(-limits.discoveredMachineLifetime)
        // Only a discovered machine expires (MachineLifecycle): the query names that state.
        let arguments: SQLArguments = [MachineState.discovered, cutoff]
        let names = try String.fetchAll(
            db, sql: "SELECT name FROM machine WHERE state = ? AND createdAt < ? ORDER BY createdAt",
            arguments: arguments)
        guard !names.isEmpty else { return [] }
        try db.execute(sql: "DELETE FROM machine WHERE state = ? AND createdAt < ?", arguments: arguments)
        let shown =
            names.prefix(Self.namesPerExpiryRecord).joined(separator: ", ")
            + (names.count > Self.namesPerExpiryRecord ? " and \(names.count - Self.namesPerExpiryRecord) more" : "")
        try db.appendAudit(
            actor: "system (expiry)", action: "discovery-expired", subject: "machines",
            details:
                "\(names.count) discovered machine(s) nobody adopted within \(Int(limits.discoveredMachineLifetime)) s forgotten: \(shown)",
            now: now)
        return names
    }

    /// Names an expiry record lists; the rest are counted.
    private static let namesPerExpiryRecord = 20
}
