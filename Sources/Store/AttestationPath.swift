import Attestation
import Foundation
import TSS
import WardenAPI
import WardenCrypto

/// Everything judging one quote needs from the store, read in one statement.
public struct AttestationContext: Sendable {
    public let key: AttestationKeyRecord
    public let machineName: String
    public let machineState: MachineState
    /// TPM2B_PUBLIC of the machine's EK.
    public let ekPublic: [UInt8]
    /// The clock of the machine's last passing attestation.
    public let lastClock: TPMAttest.ClockInfo?
    /// The policy the machine is held to (nil: none yet, trust on first use applies).
    public let policyName: String?
    /// That policy's latest version (nil when it names a policy that does not exist).
    public let policy: PolicyVersion?
    /// Why the nonce would be refused now, or nil when it would be accepted.
    public let nonceProblem: StoreError?
    /// The TPM reset count of the last boot the machine's own attestation reported as a
    /// legacy BIOS boot.
    public let legacyBootResetCount: UInt32?

    /// What a judgement of the quote is given besides the evidence, with the machine's image
    /// as its policy compares it (`image`).
    public func judgementInputs(image: JudgementInputs.ImageStanding?) -> JudgementInputs {
        let standing: JudgementInputs.PolicyStanding =
            switch (policyName, policy) {
            case (nil, _): .firstUse
            case (let name?, nil): .missing(name: name)
            case (_, let version?): .version(id: version.id, name: version.name, version: version.version)
            }
        return JudgementInputs(
            machineName: machineName, machineState: machineState, nonceProblem: nonceProblem?.description,
            lastClock: lastClock,
            legacyBootResetCount: legacyBootResetCount, policy: standing, image: image)
    }
}

/// What a challenge request got.
public enum NonceIssue: Sendable, Equatable {
    case issued([UInt8])
    case unknownKey
    case notActivated(machineID: Int64)
    /// The proof is not the one the key's activation secret gives.
    case wrongProof(machineID: Int64)
    case revoked(machineID: Int64)
}

/// A machine's secrets, unsealed, for its release.
public struct ReleaseSecrets: Sendable {
    public let diskKey: Secret
    public let join: JoinSecrets?
    /// SHA-256 of the server certificates of the appliances an operator removed, which the
    /// release tells the node to refuse (not secret; read with the secrets, in one trip).
    public let removedApplianceCertificates: [[UInt8]]
}

extension EnrolmentStore {
    /// A fresh nonce for a quote by attestation key `id`, only for an activated key whose
    /// holder shows `proof` (``ChallengeProof``), of a machine that is not revoked. Read in
    /// one statement; nothing is written (``AttestationNonce``): a machine may hold any
    /// number of nonces, each good for ``nonceLifetime``, and the database does not grow.
    public func issueNonce(attestationKeyID id: Int64, proof: [UInt8], now: Date = Date()) throws(StoreError)
        -> NonceIssue
    {
        let key = try readStatement { db in
            try SQLRow.fetchOne(
                db,
                sql: """
                    SELECT k.machineID, k.activatedAt, k.challengeDigest, m.state FROM attestationKey k JOIN machine m ON m.id = k.machineID WHERE k.id = ?
                    """,
                arguments: [id])
        }
        guard let key else { return .unknownKey }
        let machineID: Int64 = key["machineID"]
        guard (key["activatedAt"] as Date?) != nil else { return .notActivated(machineID: machineID) }
        guard
            ChallengeProof.isValid(
                proof, activationDigest: [UInt8](key["challengeDigest"] as Data), attestationKeyID: id)
        else {
            return .wrongProof(machineID: machineID)
        }
        guard !(key["state"] as MachineState).isOutOfService else { return .revoked(machineID: machineID) }
        return .issued(makeNonce(machineID: machineID, now: now))
    }

    /// The context of an attestation by key `id` with `nonce`; nil for an unknown key.
    public func attestationContext(attestationKeyID id: Int64, nonce: [UInt8], now: Date = Date()) throws(StoreError)
        -> AttestationContext?
    {
        try readStatement { db in
            try db.attestationContext(attestationKeyID: id, nonce: nonce) { machineID throws(StoreError) in
                _ = try acceptedNonce(nonce, machineID: machineID, now: now)
            }
        }
    }

    /// The machine's disk key and join secrets, unsealed, and the removed appliances'
    /// certificates, in one read.
    public func releaseSecrets(machineID: Int64) throws(StoreError) -> ReleaseSecrets {
        try unsealed(try read { db in try db.sendReleaseSecretsQuery(machineID: machineID).answer(in: db) })
    }

    /// `sealed`, opened under the key-encryption key.
    func unsealed(_ sealed: SealedReleaseSecrets) throws(StoreError) -> ReleaseSecrets {
        guard let diskKey = sealed.diskKey else { throw .notFound("disk key of machine \(sealed.machineID)") }
        return ReleaseSecrets(
            diskKey: Secret(bytes: try key.open(diskKey, identity: Self.diskKeyIdentity(machineID: sealed.machineID))),
            join: try sealed.join.map { join throws(StoreError) in try join.unsealed(with: key) },
            removedApplianceCertificates: sealed.removedApplianceCertificates)
    }
}

/// The queries of a machine's release secrets, sent and not yet answered.
struct PendingReleaseSecrets {
    let machineID: Int64
    let removed: SQLLaterRows
    let machine: SQLLaterRows

    /// What they answered, read in `db`, where they were sent.
    func answer(in db: SQLTransaction) throws -> SealedReleaseSecrets {
        let (diskKey, join) = try db.machineSecrets(from: machine)
        return SealedReleaseSecrets(
            machineID: machineID, diskKey: diskKey, join: join,
            removedApplianceCertificates: try db.answer(removed).map { [UInt8]($0["serverCertificateSHA256"] as Data) })
    }
}

/// What a release holds, as the store keeps it: sealed under the key-encryption key.
struct SealedReleaseSecrets {
    let machineID: Int64
    let diskKey: [UInt8]?
    let join: SealedJoin?
    let removedApplianceCertificates: [[UInt8]]
}

extension SQLTransaction {
    /// Sends the queries of a machine's release secrets (sealed) and of the removed
    /// appliances' certificates, without waiting; the secrets' is `machineRows` when it was
    /// sent already (with the machine's standing).
    func sendReleaseSecretsQuery(machineID: Int64, machineRows: SQLLaterRows? = nil) throws -> PendingReleaseSecrets {
        PendingReleaseSecrets(
            machineID: machineID,
            removed: try memo.removedAppliances
                ?? {
                    let removed = try enqueueQuery(
                        sql: "SELECT serverCertificateSHA256 FROM appliance WHERE state = ? ORDER BY name",
                        arguments: [ApplianceState.removed.rawValue])
                    memo.removedAppliances = removed
                    return removed
                }(),
            machine: try machineRows
                ?? sendMachineSecretsQuery(
                    machineID: machineID, alsoSealed: EnrolmentStore.diskKeyIdentity(machineID: machineID)))
    }
}

extension SQLTransaction {
    /// The context of an attestation by key `id` with `nonce`, read in one statement (key,
    /// machine, the nonce's use by it, its last passing clock and its policy's newest
    /// version), where `checkNonce` throws why the nonce is refused for the key's machine
    /// whatever its use; nil for an unknown key.
    func attestationContext(
        attestationKeyID id: Int64, nonce: [UInt8], checkNonce: (Int64) throws(StoreError) -> Void
    ) throws -> AttestationContext? {
        guard
            let row = try SQLRow.fetchOne(
                self,
                sql: """
                    SELECT k.id, k.machineID, k.public, k.name, k.activatedAt, m.name AS machineName, m.state, m.ekPublic,
                        m.policyName, m.legacyBootResetCount, n.usedAt AS nonceUsedAt,
                        a.resetCount, a.restartCount, a.clock, a.safe,
                        p.id AS policyID, p.version AS policyVersion, p.yaml AS policyYAML
                    FROM attestationKey k JOIN machine m ON m.id = k.machineID
                    LEFT JOIN machineNonce n ON n.machineID = k.machineID AND n.value = ?
                    LEFT JOIN attestation a ON a.id = (
                        SELECT id FROM attestation WHERE machineID = k.machineID AND passed AND resetCount IS NOT NULL ORDER BY id DESC LIMIT 1)
                    LEFT JOIN policy p ON p.id = (SELECT id FROM policy WHERE name = m.policyName ORDER BY version DESC LIMIT 1)
                    WHERE k.id = ?
                    """, arguments: [Data(nonce), id])
        else { return nil }
        let policyName: String? = row["policyName"]
        let nonceProblem: StoreError?
        do throws(StoreError) {
            guard (row["nonceUsedAt"] as Date?) == nil else { throw .nonce("already used") }
            try checkNonce(row["machineID"])
            nonceProblem = nil
        } catch { nonceProblem = error }
        return AttestationContext(
            key: AttestationKeyRecord(
                id: row["id"], machineID: row["machineID"], publicArea: [UInt8](row["public"] as Data),
                name: [UInt8](row["name"] as Data),
                activated: (row["activatedAt"] as Date?) != nil),
            machineName: row["machineName"], machineState: row["state"], ekPublic: [UInt8](row["ekPublic"] as Data),
            lastClock: TPMAttest.ClockInfo(lastPassingIn: row), policyName: policyName,
            policy: (row["policyID"] as Int64?).map { policyID in
                PolicyVersion(
                    id: policyID, name: row["policyName"], version: row["policyVersion"], yaml: row["policyYAML"])
            },
            nonceProblem: nonceProblem,
            legacyBootResetCount: (row["legacyBootResetCount"] as Int64?).map { UInt32(truncatingIfNeeded: $0) })
    }
}
