import Foundation
import GRDB
import TSS
import WardenCrypto

/// An attestation key bound (or being bound) to a machine.
public struct AttestationKeyRecord: Sendable, Equatable {
    public let id: Int64
    public let machineID: Int64
    public let publicArea: [UInt8]
    public let name: [UInt8]
    public let activated: Bool
}

/// Legacy BIOS boots Warden served (`seen` of them) bound to the TPM reset count of the
/// boot a verified quote came from: every attestation of that boot is unmeasured.
public struct LegacyBootBinding: Sendable, Equatable {
    public let resetCount: UInt32
    public let seen: Int

    public init(resetCount: UInt32, seen: Int) {
        self.resetCount = resetCount
        self.seen = seen
    }
}

/// One attestation as it is kept: the raw evidence, the verdict with every reason, the
/// policy version it was judged by, and the TPM clock.
public struct AttestationOutcome: Sendable {
    public let machineID: Int64
    public let attestationKeyID: Int64
    /// The AK's TPM2B_PUBLIC, part of the evidence an auditor re-checks.
    public let attestationKeyPublic: [UInt8]
    public let nonce: [UInt8]
    public let attest: [UInt8]
    public let signature: [UInt8]
    public let pcrs: [UInt8]
    public let eventLog: [UInt8]?
    public let passed: Bool
    public let reasons: [String]
    public let policyID: Int64?
    public let clock: TPMAttest.ClockInfo?
    /// What the verdict compared the boot with (JSON), kept with the evidence.
    public let bootReference: [UInt8]?
    /// The pending legacy BIOS boots a verified quote saw, which it binds to its boot.
    public let legacyBoot: LegacyBootBinding?

    public init(
        machineID: Int64, attestationKeyID: Int64, attestationKeyPublic: [UInt8], nonce: [UInt8], attest: [UInt8], signature: [UInt8], pcrs: [UInt8],
        eventLog: [UInt8]?, passed: Bool, reasons: [String], policyID: Int64?, clock: TPMAttest.ClockInfo?, bootReference: [UInt8]? = nil,
        legacyBoot: LegacyBootBinding? = nil
    ) {
        self.machineID = machineID
        self.attestationKeyID = attestationKeyID
        self.attestationKeyPublic = attestationKeyPublic
        self.nonce = nonce
        self.attest = attest
        self.signature = signature
        self.pcrs = pcrs
        self.eventLog = eventLog
        self.passed = passed
        self.reasons = reasons
        self.policyID = policyID
        self.clock = clock
        self.bootReference = bootReference
        self.legacyBoot = legacyBoot
    }

    /// The evidence as the files an export carries.
    public var evidenceFiles: EvidenceFiles {
        EvidenceFiles(attestationKeyPublic: attestationKeyPublic, attest: attest, signature: signature, pcrs: pcrs, eventLog: eventLog, nonce: nonce,
                      bootReference: bootReference)
    }

    /// The attestation audit record's details: the verdict, the policy version it was
    /// judged by (`policy NAME version N`, or `no policy`) and every reason.
    public static func auditDetails(passed: Bool, policy: (name: String, version: Int)?, reasons: [String]) -> String {
        (passed ? "passed" : "refused") + " under " + (policy.map { "policy \($0.name) version \($0.version)" } ?? "no policy")
            + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
    }
}

extension EnrolmentStore {
    /// The machine enrolled with this EK name, and its state.
    public func machine(ekName: [UInt8]) throws(StoreError) -> (id: Int64, name: String, state: String)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT id, name, state FROM machine WHERE ekName = ?", arguments: [Data(ekName)])
                .map { ($0["id"], $0["name"], $0["state"]) }
        }
    }

    /// Records an AK presented by `machineID`, not yet activated; keeps only the digest of
    /// the credential it must recover.
    public func registerAttestationKey(machineID: Int64, publicArea: [UInt8], name: [UInt8], challenge: [UInt8]) throws(StoreError) -> Int64 {
        try write { db in
            try db.execute(sql: "DELETE FROM attestationKey WHERE name = ? AND activatedAt IS NULL", arguments: [Data(name)])
            guard try Int64.fetchOne(db, sql: "SELECT id FROM attestationKey WHERE name = ?", arguments: [Data(name)]) == nil else {
                throw StoreError.duplicate("attestation key")
            }
            try db.execute(
                sql: "INSERT INTO attestationKey (machineID, public, name, challengeDigest) VALUES (?, ?, ?, ?)",
                arguments: [machineID, Data(publicArea), Data(name), Data(DigestAlgorithm.sha256.hash(challenge))])
            return db.lastInsertedRowID
        }
    }

    /// Activates the AK when `proof` is the credential it was challenged with.
    public func activateAttestationKey(id: Int64, proof: [UInt8], now: Date = Date()) throws(StoreError) -> Bool {
        try write { db in
            guard let digest = try Data.fetchOne(db, sql: "SELECT challengeDigest FROM attestationKey WHERE id = ? AND activatedAt IS NULL", arguments: [id]) else {
                throw StoreError.notFound("pending attestation key \(id)")
            }
            guard ConstantTime.equals(DigestAlgorithm.sha256.hash(proof), [UInt8](digest)) else { return false }
            try db.execute(sql: "UPDATE attestationKey SET activatedAt = ? WHERE id = ?", arguments: [now, id])
            return true
        }
    }

    /// Keeps the attestation and its audit record in one transaction, with what must commit
    /// with it: the nonce consumed (refused unless it was issued to this machine, is unused
    /// and unexpired) and, for a passing first attestation, the policy it pins. Marks the
    /// machine active when it passed. Nothing may be released before this returns.
    @discardableResult
    public func record(_ outcome: AttestationOutcome, pinning pin: PolicyPin? = nil, actor: String, now: Date = Date()) throws(StoreError) -> Int64 {
        try write { db in
            try db.consumeNonce(outcome.nonce, machineID: outcome.machineID, now: now)
            let pinned = try pin.map { try db.pin($0, machineID: outcome.machineID, actor: "system (trust on first use)", reason: "first passing attestation", now: now) }
            let policyID = pinned?.id ?? outcome.policyID
            let policy = try pinned.map { ($0.name, $0.version) } ?? policyID.flatMap {
                try Row.fetchOne(db.cachedStatement(sql: "SELECT name, version FROM policy WHERE id = ?"), arguments: [$0]).map { ($0["name"] as String, $0["version"] as Int) }
            }
            try db.execute(sql: """
                INSERT INTO attestation (machineID, attestationKeyID, nonce, attest, signature, pcrs, eventLog, passed, reasons,
                    policyID, resetCount, restartCount, clock, safe, bootReference, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    outcome.machineID, outcome.attestationKeyID, Data(outcome.nonce), Data(outcome.attest), Data(outcome.signature),
                    Data(outcome.pcrs), outcome.eventLog.map { Data($0) }, outcome.passed, outcome.reasons.joined(separator: "\n"),
                    policyID, outcome.clock.map { Int64($0.resetCount) }, outcome.clock.map { Int64($0.restartCount) },
                    outcome.clock.map { Int64(bitPattern: $0.clock) }, outcome.clock?.safe, outcome.bootReference.map { Data($0) }, now,
                ])
            let id = db.lastInsertedRowID
            if let legacyBoot = outcome.legacyBoot {
                // Only the boots this attestation saw: one served meanwhile stays pending.
                try db.execute(sql: "UPDATE machine SET legacyBootsPending = MAX(legacyBootsPending - ?, 0), legacyBootResetCount = ? WHERE id = ?",
                               arguments: [legacyBoot.seen, Int64(legacyBoot.resetCount), outcome.machineID])
            }
            try db.appendAudit(
                actor: actor, action: "attestation", subject: "machine/\(outcome.machineID)/attestation/\(id)",
                details: AttestationOutcome.auditDetails(passed: outcome.passed, policy: policy, reasons: outcome.reasons),
                evidenceSHA256: outcome.evidenceFiles.digest, now: now)
            if outcome.passed {
                try db.execute(sql: "UPDATE machine SET state = 'active' WHERE id = ? AND state = 'enrolled'", arguments: [outcome.machineID])
                let cluster = try String.fetchOne(db, sql: "SELECT c.name FROM machine m JOIN cluster c ON c.id = m.clusterID WHERE m.id = ?", arguments: [outcome.machineID])
                try db.appendAudit(
                    actor: "system", action: "release", subject: "machine/\(outcome.machineID)/attestation/\(id)",
                    details: "disk key" + (cluster.map { " and K3s join configuration of cluster \($0)" } ?? "") + " sealed to the attesting TPM", now: now)
            }
            return id
        }
    }
}

extension Database {
    /// The clock of the machine's last passing attestation.
    func lastClock(machineID: Int64) throws -> TPMAttest.ClockInfo? {
        try Row.fetchOne(cachedStatement(sql: """
            SELECT resetCount, restartCount, clock, safe FROM attestation
            WHERE machineID = ? AND passed AND resetCount IS NOT NULL ORDER BY id DESC LIMIT 1
            """), arguments: [machineID]).map {
            TPMAttest.ClockInfo(clock: UInt64(bitPattern: $0["clock"] as Int64), resetCount: UInt32($0["resetCount"] as Int64),
                                restartCount: UInt32($0["restartCount"] as Int64), safe: $0["safe"])
        }
    }
}
