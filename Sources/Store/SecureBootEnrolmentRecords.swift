import Attestation
import Foundation
import WardenAPI

extension EnrolmentStore {
    /// Records that Warden's Secure Boot enrolment updates, issued at `issuedAt`, were all
    /// written to machine `machineID`'s firmware, as its agent reported, with its audit
    /// record; once: a report of updates issued before the machine's last enrolment changes
    /// nothing. Refused unless the machine is one enrolment may touch: discovered, or given
    /// the image `enrolmentImage` by an operator. A machine held to its own first-use pin
    /// has the pin replaced in the same transaction by what `repin` makes of its latest
    /// version (PCR 7 then predicted from the enrolled keys), never silently: audited as a
    /// new pin.
    public func recordSecureBootEnrolment(
        machineID: Int64, issuedAt: Date, enrolmentImage: String, details: String,
        repin: @escaping @Sendable (PolicyVersion) -> PolicyPin?, actor: String, now: Date = Date()
    ) throws(StoreError) {
        try write { db in
            guard
                let row = try SQLRow.fetchOne(
                    db,
                    sql: """
                        SELECT m.name, m.state, m.policyName, m.secureBootEnrolledAt, i.name AS image FROM machine m
                        LEFT JOIN image i ON i.id = m.imageID WHERE m.id = ?
                        """, arguments: [machineID])
            else { throw StoreError.notFound("machine with ID \(machineID)") }
            let name: String = row["name"]
            if let enrolled = row["secureBootEnrolledAt"] as Date?, enrolled >= issuedAt { return }
            guard row["state"] as MachineState == .discovered || row["image"] as String? == enrolmentImage else {
                throw StoreError.invalid(
                    "machine \(name) is no longer one Secure Boot enrolment may touch (discovered, or given image \(enrolmentImage))"
                )
            }
            try db.appendAudit(
                actor: actor, action: "secureboot-enrolled", subject: "machine/\(machineID)", details: details, now: now
            )
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
