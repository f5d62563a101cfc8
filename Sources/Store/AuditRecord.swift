import Foundation
import WardenCrypto

/// One record of the audit chain, exactly as it is hashed, stored and exported.
public struct AuditRecord: Sendable, Equatable {
    /// Position in the chain, from 1, without gaps.
    public let sequence: Int64
    /// When it happened: UTC, RFC 3339 with milliseconds (see ``AuditChain/timestamp(_:)``).
    public let time: String
    /// The appliance that wrote it (`applianceName`); nil in records written before
    /// appliances were named, which keep the first record format (see ``AuditChain``).
    public let appliance: String?
    /// Who: an operator certificate's name, a machine, the agent API or the system.
    public let actor: String
    /// What kind of event (`enrolment`, `attestation`, `release`, `refusal`, …).
    public let action: String
    /// What it concerns (`machine/3/attestation/7`, `policy/base/2`, …).
    public let subject: String
    /// What happened, for people.
    public let details: String
    /// SHA-256 of the evidence the event rests on (an attestation's files, a policy's YAML).
    public let evidenceSHA256: [UInt8]?
    /// The hash of the record before it (32 zero bytes before the first).
    public let previousHash: [UInt8]
    /// This record's hash: ``AuditChain/hash(of:)``.
    public let hash: [UInt8]

    public init(
        sequence: Int64, time: String, appliance: String? = nil, actor: String, action: String, subject: String,
        details: String, evidenceSHA256: [UInt8]?, previousHash: [UInt8], hash: [UInt8]
    ) {
        self.sequence = sequence
        self.time = time
        self.appliance = appliance
        self.actor = actor
        self.action = action
        self.subject = subject
        self.details = details
        self.evidenceSHA256 = evidenceSHA256
        self.previousHash = previousHash
        self.hash = hash
    }

    /// The record that follows `previous` (nil: the first), with its hash computed.
    public static func chained(
        after previous: (sequence: Int64, hash: [UInt8])?, time: String, appliance: String? = nil, actor: String,
        action: String, subject: String, details: String, evidenceSHA256: [UInt8]?
    ) -> AuditRecord {
        AuditRecord(
            sequence: (previous?.sequence ?? 0) + 1, time: time, appliance: appliance, actor: actor, action: action,
            subject: subject, details: details, evidenceSHA256: evidenceSHA256,
            previousHash: previous?.hash ?? AuditChain.genesis, hash: []
        ).rehashed(after: previous?.hash ?? AuditChain.genesis)
    }

    /// This record linked to `previousHash`, with the hash that makes it.
    public func rehashed(after previousHash: [UInt8]) -> AuditRecord {
        let unhashed = AuditRecord(
            sequence: sequence, time: time, appliance: appliance, actor: actor, action: action, subject: subject,
            details: details, evidenceSHA256: evidenceSHA256, previousHash: previousHash, hash: [])
        return AuditRecord(
            sequence: sequence, time: time, appliance: appliance, actor: actor, action: action, subject: subject,
            details: details, evidenceSHA256: evidenceSHA256, previousHash: previousHash,
            hash: AuditChain.hash(of: unhashed))
    }
}

/// A signed statement that the chain's record `sequence` has `hash`: made with the audit
/// key at least every N records and when the server stops.
public struct AuditCheckpoint: Sendable, Equatable {
    public let sequence: Int64
    public let hash: [UInt8]
    /// When it was signed (same format as ``AuditRecord/time``).
    public let signedAt: String
    /// Ed25519 over ``AuditChain/checkpointMessage(sequence:hash:signedAt:)``.
    public let signature: [UInt8]

    public init(sequence: Int64, hash: [UInt8], signedAt: String, signature: [UInt8]) {
        self.sequence = sequence
        self.hash = hash
        self.signedAt = signedAt
        self.signature = signature
    }
}
