import Attestation
import Foundation
import WardenAPI

extension EnrolmentStore {
    /// Records that Warden's Secure Boot enrolment updates were written to machine
    /// `machineID`'s firmware, as its agent reported (`complete`: every update the firmware
    /// took), with its audit record. A machine held to its own first-use pin has the pin
    /// replaced in the same transaction, by what `repin` makes of its latest version (its
    /// PCR 7 now predicted from the enrolled keys), never silently: audited as a new pin.
    public func recordSecureBootEnrolment(
        machineID: Int64, complete: Bool, details: String, repin: @escaping @Sendable (PolicyVersion) -> PolicyPin?,
        actor: String, now: Date = Date()
    ) throws(StoreError) {
        try write { db in
            guard
                let row = try SQLRow.fetchOne(
                    db, sql: "SELECT name, policyName FROM machine WHERE id = ?", arguments: [machineID])
            else { throw StoreError.notFound("machine with ID \(machineID)") }
            let name: String = row["name"]
            try db.appendAudit(
                actor: actor, action: complete ? "secureboot-enrolled" : "secureboot-enrolment-incomplete",
                subject: "machine/\(machineID)", details: details, now: now)
            guard complete else { return }
            try db.execute(
                sql: "UPDATE machine SET secureBootEnrolledAt = ? WHERE id = ?", arguments: [now, machineID])
            let ownPin = Policy.machinePolicyName(name)
            guard (row["policyName"] as String?) == ownPin, let latest = try db.latestPolicy(name: ownPin),
                let pin = repin(latest)
            else { return }
            _ = try db.pin(
                pin, machineID: machineID, actor: actor,
                reason: "first-use pin replaced at Secure Boot enrolment (PCR 7 predicted from the enrolled keys)",
                now: now)
        }
    }
}
