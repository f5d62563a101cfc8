import Attestation
import Foundation
import Octets
import TPM
import TSS
import WardenAPI
import WardenCrypto

/// An attestation key bound (or being bound) to a machine.
public struct AttestationKeyRecord: Sendable, Equatable {
    public let id: Int64
    public let machineID: Int64
    public let publicArea: [UInt8]
    public let name: [UInt8]
    public let activated: Bool
}

/// One attestation as it is kept: its evidence, the verdict with every reason, the policy
/// version it was judged by, the TPM clock, and what the judgement was given.
public struct AttestationOutcome: Sendable {
    public let machineID: Int64
    public let attestationKeyID: Int64
    public let evidence: Evidence
    public let passed: Bool
    public let reasons: [String]
    public let policyID: Int64?
    public let clock: TPMAttest.ClockInfo?
    /// What the verdict compared the boot with, kept with the evidence when there was any.
    public let bootReference: BootReference?
    /// The reset count of the boot a verified quote's agent reported as legacy BIOS.
    public let legacyBootResetCount: UInt32?
    /// What the judgement was given besides the evidence, kept with it for auditors.
    public let inputs: JudgementInputs?
    /// The SHA-256 of the evidence's event log, when the verifier worked it out.
    let eventLogSHA256: [UInt8]?

    /// The outcome `judgement` gave `evidence`, with its `inputs`.
    public init(
        machineID: Int64, attestationKeyID: Int64, evidence: Evidence, inputs: JudgementInputs, judgement: Judgement
    ) {
        self.init(
            machineID: machineID, attestationKeyID: attestationKeyID, evidence: evidence, passed: judgement.passed,
            reasons: judgement.reasons,
            policyID: judgement.policyID, clock: judgement.clock, bootReference: judgement.boot,
            legacyBootResetCount: judgement.legacyBootResetCount,
            inputs: inputs, eventLogSHA256: judgement.quote?.measuredBoot?.sha256)
    }

    /// An outcome as given (a store's own tests, and evidence judged elsewhere).
    public init(
        machineID: Int64, attestationKeyID: Int64, evidence: Evidence, passed: Bool, reasons: [String],
        policyID: Int64?,
        clock: TPMAttest.ClockInfo?, bootReference: BootReference? = nil, legacyBootResetCount: UInt32? = nil,
        inputs: JudgementInputs? = nil
    ) {
        self.init(
            machineID: machineID, attestationKeyID: attestationKeyID, evidence: evidence, passed: passed,
            reasons: reasons, policyID: policyID, clock: clock, bootReference: bootReference,
            legacyBootResetCount: legacyBootResetCount, inputs: inputs, eventLogSHA256: nil)
    }

    private init(
        machineID: Int64, attestationKeyID: Int64, evidence: Evidence, passed: Bool, reasons: [String],
        policyID: Int64?, clock: TPMAttest.ClockInfo?, bootReference: BootReference?, legacyBootResetCount: UInt32?,
        inputs: JudgementInputs?, eventLogSHA256: [UInt8]?
    ) {
        self.machineID = machineID
        self.attestationKeyID = attestationKeyID
        self.evidence = evidence
        self.passed = passed
        self.reasons = reasons
        self.policyID = policyID
        self.clock = clock
        self.bootReference = bootReference == BootReference() ? nil : bootReference
        self.legacyBootResetCount = legacyBootResetCount
        self.inputs = inputs
        self.eventLogSHA256 = eventLogSHA256
    }

    /// The evidence as the files an export carries.
    public var evidenceFiles: EvidenceFiles {
        EvidenceFiles(evidence: evidence, bootReference: bootReference?.json, judgement: inputs?.json)
    }

    /// The attestation audit record's details: the verdict, the policy version it was
    /// judged by (`policy NAME version N`, or `no policy`) and every reason.
    public static func auditDetails(passed: Bool, policy: (name: String, version: Int)?, reasons: [String]) -> String {
        (passed ? "passed" : "refused") + " under "
            + (policy.map { "policy \($0.name) version \($0.version)" } ?? "no policy")
            + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
    }
}

extension EnrolmentStore {
    /// The machine enrolled with this EK name, and its state.
    public func machine(ekName: [UInt8]) throws(StoreError) -> (id: Int64, name: String, state: MachineState)? {
        try read { db in
            try SQLRow.fetchOne(
                db, sql: "SELECT id, name, state FROM machine WHERE ekName = ?", arguments: [Data(ekName)]
            )
            .map { ($0["id"], $0["name"], $0["state"]) }
        }
    }

    /// A registration of the AK `publicArea` (TPM name `name`) presented by `machineID`, as
    /// a ticket the agent hands back with its proof: the machine, the AK, the time and the
    /// digest of the credential the AK's TPM must recover, with an HMAC-SHA256 under a key
    /// derived from the key-encryption key, so that only a store holding that key makes one.
    /// (Not sealed with the key-encryption key itself: anyone can ask for tickets, as often as
    /// they like, and that key must not be used without bound under random GCM nonces.)
    /// Nothing is written: anyone who knows an enrolled EK's public part can register, as
    /// often as they like, and neither grows the database nor pushes out a real agent's
    /// registration. A ticket lives ``Limits/registrationLifetime``.
    public func registrationTicket(
        machineID: Int64, publicArea: [UInt8], name: [UInt8], challenge: [UInt8], now: Date = Date()
    ) throws(StoreError) -> [UInt8] {
        let ticket = RegistrationTicket(
            machineID: machineID, issuedAt: now, challengeDigest: DigestAlgorithm.sha256.hash(challenge), name: name,
            publicArea: publicArea)
        return ticket.signed(with: key.derivedKey(for: RegistrationTicket.purpose))
    }

    /// Activates the AK a ticket registered when `proof` is the credential it was
    /// challenged with, within ``Limits/registrationLifetime`` of the registration: records
    /// it, activated, and returns its id (the same id when the same ticket comes again), or
    /// nil when the proof is wrong.
    public func activateAttestationKey(ticket signed: [UInt8], proof: [UInt8], now: Date = Date()) throws(StoreError)
        -> Int64?
    {
        guard let ticket = RegistrationTicket(signed: signed, key: key.derivedKey(for: RegistrationTicket.purpose))
        else {
            throw .notFound("registration: not one this server issued")
        }
        guard now.timeIntervalSince(ticket.issuedAt) <= limits.registrationLifetime,
            ticket.issuedAt <= now.addingTimeInterval(60)
        else {
            throw .notFound("registration: expired")
        }
        guard ConstantTime.equals(DigestAlgorithm.sha256.hash(proof), ticket.challengeDigest) else { return nil }
        return try write { db in
            if let known = try SQLRow.fetchOne(
                db, sql: "SELECT id, machineID FROM attestationKey WHERE name = ?", arguments: [Data(ticket.name)])
            {
                guard known["machineID"] as Int64 == ticket.machineID else {
                    throw StoreError.duplicate("attestation key")
                }
                return known["id"] as Int64
            }
            guard
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM machine WHERE id = ?)", arguments: [ticket.machineID])
                    == true
            else {
                throw StoreError.notFound("registration: the machine is gone")
            }
            return try db.insert(
                sql:
                    "INSERT INTO attestationKey (machineID, public, name, challengeDigest, activatedAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    ticket.machineID, Data(ticket.publicArea), Data(ticket.name), Data(ticket.challengeDigest), now,
                ])
        }
    }

    /// Keeps the attestation and its audit record in one transaction, with what must commit
    /// with it: the nonce's use (refused unless this store made it for this machine, it is
    /// unexpired and its first use) and, for a passing first attestation, the policy it pins. Marks the
    /// machine active when it passed, and reads and opens, in the same transaction, the
    /// secrets its release holds: when they cannot be, nothing is recorded. Nothing may be
    /// released before this returns.
    @discardableResult
    public func record(_ outcome: AttestationOutcome, pinning pin: PolicyPin? = nil, actor: String, now: Date = Date())
        async throws(StoreError) -> RecordedAttestation
    {
        // What needs no database is made before the write: every appliance's writes wait in
        // line for the one writer, and hashing the evidence (its event log most of all) there
        // made the line longer.
        let files = outcome.evidenceFiles
        let evidenceSHA256 = files.digest
        let eventLog = outcome.evidence.eventLog.map {
            StoredEventLog(sha256: outcome.eventLogSHA256 ?? DigestAlgorithm.sha256.hash($0), bytes: $0)
        }
        let nonce = try acceptedNonce(outcome.evidence.nonce, machineID: outcome.machineID, now: now)
        let generation = database.generation
        let eventLogKept = eventLog.map { keptEventLogs.contains($0.sha256, generation: generation) } ?? false
        let (id, release) = try await keepingEventLog(eventLog, writtenIn: generation) { () async throws(StoreError) in
            try await write { db in
                // The nonce's use, the standing and the row go in one round trip (one per
                // attestation, in the shared writer every appliance waits for); a nonce that was
                // not there to use, or a standing that does not confirm the judgement's inputs,
                // rolls all of it back.
                // A release's secrets are read with the standing, in the same statement.
                let standingAnswer = try db.sendStandingQuery(
                    ofMachine: outcome.machineID,
                    secretSealedAs: outcome.passed ? EnrolmentStore.diskKeyIdentity(machineID: outcome.machineID) : nil)
                let nonceUse = try db.sendNonceUse(nonce, bytes: outcome.evidence.nonce, now: now)
                let releaseSecrets =
                    outcome.passed
                    ? try db.sendReleaseSecretsQuery(machineID: outcome.machineID, machineRows: standingAnswer) : nil
                if pin != nil {
                    // A first use is judged before its pin is saved: a replayed nonce or another
                    // appliance's pin refuses it as such (one more round trip, once per machine).
                    try db.awaitSent()
                    try db.checkNonceUse(nonceUse)
                    try outcome.inputs.map(
                        try MachineStanding(ofMachine: outcome.machineID, from: standingAnswer).confirm)
                }
                let pinned = try pin.map {
                    try db.pin(
                        $0, machineID: outcome.machineID, actor: "system (trust on first use)",
                        reason: "first passing attestation", now: now)
                }
                let id = try db.insertAttestation(
                    outcome, files: files, eventLog: eventLog, eventLogKept: eventLogKept,
                    policyID: pinned?.id ?? outcome.policyID, now: now)
                try db.checkNonceUse(nonceUse)
                let standing = try MachineStanding(ofMachine: outcome.machineID, from: standingAnswer)
                try outcome.inputs.map(standing.confirm)
                let policyID = pinned?.id ?? outcome.policyID
                let policy: (name: String, version: Int)? =
                    if let pinned {
                        (pinned.name, pinned.version)
                    } else if let policyID, policyID == standing.policy?.id,
                        let name = standing.policyName, let version = standing.policy?.version
                    {
                        (name, version)
                    } else {
                        try policyID.flatMap {
                            try SQLRow.fetchOne(
                                db, sql: "SELECT name, version FROM policy WHERE id = ?", arguments: [$0]
                            ).map { ($0["name"] as String, $0["version"] as Int) }
                        }
                    }
                if let resetCount = outcome.legacyBootResetCount {
                    try db.execute(
                        sql: "UPDATE machine SET legacyBootResetCount = ? WHERE id = ?",
                        arguments: [Int64(resetCount), outcome.machineID])
                }
                var audited = [
                    AuditEvent(
                        actor: actor, action: "attestation", subject: "machine/\(outcome.machineID)/attestation/\(id)",
                        details: AttestationOutcome.auditDetails(
                            passed: outcome.passed, policy: policy, reasons: outcome.reasons),
                        evidenceSHA256: evidenceSHA256)
                ]
                if outcome.passed {
                    try db.move(machine: outcome.machineID, named: standing.name, from: standing.state, by: .release)
                    audited.append(
                        AuditEvent(
                            actor: "system", action: "release",
                            subject: "machine/\(outcome.machineID)/attestation/\(id)",
                            details: "disk key"
                                + (standing.cluster.map { " and K3s join configuration of cluster \($0)" } ?? "")
                                + " sealed to the attesting TPM"))
                }
                // The verdict's record and its release's, in one statement.
                try db.appendAudit(audited, now: now)
                // Opened here, so that a release that cannot be made (a secret missing, or sealed
                // under another key) leaves nothing recorded, as any other failure does.
                return (id, try releaseSecrets.map { try self.unsealed(try $0.answer(in: db)) })
            }
        }
        return RecordedAttestation(id: id, release: release)
    }

    /// Runs `write`, which keeps `eventLog` and begins in the database's `generation`, and
    /// remembers the log as kept once it committed; when the database failed, forgets every
    /// log it remembered.
    func keepingEventLog<T>(
        _ eventLog: StoredEventLog?, writtenIn generation: Int, _ write: () async throws(StoreError) -> T
    )
        async throws(StoreError) -> T
    {
        do {
            let written = try await write()
            if let eventLog { keptEventLogs.remember(eventLog.sha256, keptIn: generation, now: database.generation) }
            return written
        } catch {
            switch error {
            case .unavailable, .database: keptEventLogs.forget()
            default: break
            }
            throw error
        }
    }
}

/// An event log as the store keeps it: once, under its SHA-256.
struct StoredEventLog {
    let sha256: [UInt8]
    let bytes: [UInt8]
}

/// An attestation kept by ``EnrolmentStore/record(_:pinning:actor:now:)``.
public struct RecordedAttestation: Sendable {
    /// The attestation's id.
    public let id: Int64
    /// What the release of a passing attestation holds, read as it was recorded; nil for a
    /// refused one.
    public let release: ReleaseSecrets?
}

extension SQLTransaction {
    /// Inserts the row of `outcome` (whose evidence files are `files`), naming policy
    /// version `policyID`, and keeps its event log unless `eventLogKept` says it is; its id.
    fileprivate func insertAttestation(
        _ outcome: AttestationOutcome, files: EvidenceFiles, eventLog: StoredEventLog?, eventLogKept: Bool,
        policyID: Int64?, now: Date
    ) throws -> Int64 {
        let evidence = outcome.evidence
        let eventLogSHA256 = try eventLog.map { eventLogKept ? $0.sha256 : try storeEventLog($0) }
        return try insert(
            sql: """
                INSERT INTO attestation (machineID, attestationKeyID, nonce, attest, signature, pcrs, eventLogSHA256, legacyBIOS, passed, reasons,
                    policyID, resetCount, restartCount, clock, safe, bootReference, judgement, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                outcome.machineID, outcome.attestationKeyID, Data(evidence.nonce), Data(evidence.attest),
                Data(evidence.signature),
                Data(evidence.pcrs), eventLogSHA256.map { Data($0) }, evidence.legacyBIOS, outcome.passed,
                outcome.reasons.joined(separator: "\n"),
                policyID, outcome.clock.map { Int64($0.resetCount) }, outcome.clock.map { Int64($0.restartCount) },
                outcome.clock.map { Int64(bitPattern: $0.clock) }, outcome.clock?.safe,
                files.bootReference.map { Data($0) }, files.judgement.map { Data($0) }, now,
            ])
    }

    /// Keeps `eventLog` once, by its SHA-256, which is returned: a machine sends the same log
    /// boot after boot, so most attestations write none.
    func storeEventLog(_ eventLog: StoredEventLog) throws -> [UInt8] {
        try enqueue(
            sql: "INSERT INTO eventLog (sha256, bytes) VALUES (?, ?) ON CONFLICT DO NOTHING",
            arguments: [Data(eventLog.sha256), Data(eventLog.bytes)])
        return eventLog.sha256
    }

    /// The expression of an attestation row's (`a`) event log, whether kept by digest or,
    /// before logs were, in the row itself (callers name it `eventLogBytes`).
    static let attestationEventLog =
        "COALESCE(a.eventLog, (SELECT bytes FROM eventLog WHERE sha256 = a.eventLogSHA256))"
}

extension TPMAttest.ClockInfo {
    /// The clock of a machine's last passing attestation, from a row that joined it
    /// (columns `resetCount`, `restartCount`, `clock`, `safe`); nil when it has none.
    init?(lastPassingIn row: SQLRow) {
        guard let resetCount = row["resetCount"] as Int64? else { return nil }
        self.init(
            clock: UInt64(bitPattern: row["clock"] as Int64), resetCount: UInt32(resetCount),
            restartCount: UInt32(row["restartCount"] as Int64), safe: row["safe"])
    }
}

/// What a registration ticket carries: version 1, the machine's id and the time (8 bytes
/// each, big-endian; milliseconds since 1970), the credential's SHA-256, then the AK's name
/// and public area (each with a 2-byte length); then the HMAC-SHA256 of all that.
struct RegistrationTicket {
    /// What the ticket's key is derived for.
    static let purpose = "attestation-key registration v1"

    let machineID: Int64
    let issuedAt: Date
    let challengeDigest: [UInt8]
    let name: [UInt8]
    let publicArea: [UInt8]

    init(machineID: Int64, issuedAt: Date, challengeDigest: [UInt8], name: [UInt8], publicArea: [UInt8]) {
        self.machineID = machineID
        self.issuedAt = issuedAt
        self.challengeDigest = challengeDigest
        self.name = name
        self.publicArea = publicArea
    }

    var bytes: [UInt8] {
        [1] + BigEndian.bytes(machineID) + BigEndian.bytes(Int64(issuedAt.timeIntervalSince1970 * 1_000))
            + challengeDigest
            + BigEndian.bytes(UInt16(name.count)) + name + BigEndian.bytes(UInt16(publicArea.count)) + publicArea
    }

    /// The ticket and its tag under `key`.
    func signed(with key: [UInt8]) -> [UInt8] {
        let bytes = self.bytes
        return bytes + HMAC.authenticate(bytes, key: key, digest: .sha256)
    }

    /// Reads a ticket whose tag `key` made; nil when the tag or the ticket is not whole.
    init?(signed: [UInt8], key: [UInt8]) {
        guard signed.count > 32 else { return nil }
        let bytes = Array(signed.dropLast(32))
        guard ConstantTime.equals(Array(signed.suffix(32)), HMAC.authenticate(bytes, key: key, digest: .sha256)) else {
            return nil
        }
        self.init(bytes)
    }

    /// Reads a ticket's fields; nil unless they are whole (only a store makes tickets, but a
    /// reader trusts no length it did not check).
    private init?(_ bytes: [UInt8]) {
        var reader = bytes[...]
        func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) -> T? {
            let count = T.bitWidth / 8
            guard reader.count >= count else { return nil }
            defer { reader = reader.dropFirst(count) }
            return BigEndian.read(T.self, reader)
        }
        func field(_ count: Int) -> [UInt8]? {
            guard reader.count >= count else { return nil }
            defer { reader = reader.dropFirst(count) }
            return Array(reader.prefix(count))
        }
        guard integer(UInt8.self) == 1, let machine = integer(UInt64.self), let time = integer(UInt64.self),
            let digest = field(32),
            let nameCount = integer(UInt16.self), let name = field(Int(nameCount)),
            let publicCount = integer(UInt16.self),
            let publicArea = field(Int(publicCount)), reader.isEmpty
        else { return nil }
        self.init(
            machineID: Int64(bitPattern: machine),
            issuedAt: Date(timeIntervalSince1970: Double(Int64(bitPattern: time)) / 1_000),
            challengeDigest: digest, name: name, publicArea: publicArea)
    }
}
