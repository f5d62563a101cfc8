import Attestation
import Foundation
import TSS
import WardenAPI

/// What a recorded attestation depends on, read in one statement inside its write: the
/// machine's state, its legacy boot mark, the policy it is held to, the clock of its last
/// passing attestation, and its cluster.
struct MachineStanding {
    let name: String
    let state: MachineState
    let legacyBootResetCount: UInt32?
    let policyName: String?
    /// The latest version of `policyName`, when it exists.
    let policy: (id: Int64, version: Int)?
    let lastClock: TPMAttest.ClockInfo?
    let cluster: String?

    /// The policy standing a judgement made now would be given.
    var policyStanding: JudgementInputs.PolicyStanding {
        switch (policyName, policy) {
        case (nil, _): .firstUse
        case (let name?, nil): .missing(name: name)
        case (let name?, let version?): .version(id: version.id, name: name, version: version.version)
        }
    }

    /// Throws ``StoreError/stale`` unless `inputs` rest on this standing: another appliance,
    /// or another request of the same machine, may have changed it since they were read.
    /// A first use then pins once, and clocks only move forward.
    func confirm(_ inputs: JudgementInputs) throws {
        guard state == inputs.machineState, lastClock == inputs.lastClock,
            legacyBootResetCount == inputs.legacyBootResetCount, policyStanding == inputs.policy
        else {
            throw StoreError.stale("machine \(inputs.machineName) changed while its attestation was judged")
        }
    }
}

extension SQLTransaction {
    /// Sends the query of machine `id`'s standing, which locks the machine's row until the
    /// transaction ends, without waiting. Its answer is read with
    /// ``MachineStanding/init(ofMachine:from:)`` once a later statement was waited for. With
    /// `secretSealedAs`, the same row also holds the machine's secrets, as
    /// ``sendMachineSecretsQuery(machineID:alsoSealed:)`` reads them (a release's, read in
    /// the statement that locks the machine: on PostgreSQL one round trip less in the writer
    /// every appliance waits for).
    func sendStandingQuery(ofMachine id: Int64, secretSealedAs identity: String? = nil) throws -> SQLLaterRows {
        try enqueueQuery(
            sql: """
                SELECT m.name, m.state, m.legacyBootResetCount, m.policyName, p.id AS policyID, p.version AS policyVersion,
                    c.name AS cluster, a.resetCount, a.restartCount, a.clock, a.safe\(identity == nil ? "" : ", " + Self.machineSecretsColumns)
                FROM machine m LEFT JOIN cluster c ON c.id = m.clusterID
                LEFT JOIN policy p ON p.id = (SELECT id FROM policy WHERE name = m.policyName ORDER BY version DESC LIMIT 1)
                LEFT JOIN attestation a ON a.id = (
                    SELECT id FROM attestation WHERE machineID = m.id AND passed AND resetCount IS NOT NULL ORDER BY id DESC LIMIT 1)
                \(identity == nil ? "" : Self.machineSecretsJoins)
                WHERE m.id = ?
                """ + (lockingRows.isEmpty ? "" : lockingRows + " OF m"),
            arguments: SQLArguments((identity.map { [.text($0)] } ?? []) + [.integer(id)]))
    }
}

extension MachineStanding {
    /// The standing of machine `id` that its query (``SQLTransaction/sendStandingQuery(ofMachine:)``) answered.
    init(ofMachine id: Int64, from answer: SQLLaterRows) throws {
        guard let row = try answer.rows().first else { throw StoreError.notFound("machine \(id)") }
        self.init(
            name: row["name"], state: row["state"],
            legacyBootResetCount: (row["legacyBootResetCount"] as Int64?).map { UInt32(truncatingIfNeeded: $0) },
            policyName: row["policyName"],
            policy: (row["policyID"] as Int64?).map { ($0, row["policyVersion"] as Int) },
            lastClock: TPMAttest.ClockInfo(lastPassingIn: row),
            cluster: row["cluster"])
    }
}
