import Attestation
import Store
import WardenAPI

/// Why the attestation flow refused a request. The message is what the agent is told;
/// it never holds a secret.
public struct AttestationRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case unknownEndorsementKey, revoked, attestationKey, notActivated, activation, nonce, evidence, policy,
            counters, limit, internalError, unavailable
    }

    public let reason: Reason
    public let detail: String
    /// The judgement's class of refusal, when a judgement refused (not what the agent is told).
    public let judged: Judgement.Refusal?

    public init(_ reason: Reason, _ detail: String, judged: Judgement.Refusal? = nil) {
        self.reason = reason
        self.detail = detail
        self.judged = judged
    }

    public var description: String { "\(reason.rawValue): \(detail)" }

    /// The bytes of an agent's base64 field `text`, named `field`. A field other than the
    /// event log is a TPM structure, a PCR file or a short value, and none decodes to more
    /// than `decodingAtMost` bytes: its length is checked before anything is decoded.
    static func bytes(_ text: String, _ field: String, decodingAtMost limit: Int = 32_768) throws(AttestationRefusal)
        -> [UInt8]
    {
        guard text.utf8.count <= (limit + 2) / 3 * 4 else {
            throw AttestationRefusal(.evidence, "\(field) is longer than \(limit) bytes")
        }
        guard let bytes = Base64.decode(text) else { throw AttestationRefusal(.evidence, "\(field) is not base64") }
        return bytes
    }

    /// A store that failed: unavailable (the agent tries again) when the database cannot be
    /// reached or written now, or the machine changed while it was judged; an internal
    /// error otherwise.
    static func store(_ error: any Error) -> AttestationRefusal {
        switch error as? StoreError {
        case .unavailable: return AttestationRefusal(.unavailable, "the database is unavailable; retry shortly")
        case .stale(let why): return AttestationRefusal(.unavailable, "\(why); attest again")
        default: break
        }
        return AttestationRefusal(.internalError, "store: \(error)")
    }
}

extension Judgement.Refusal {
    /// The reason an agent is told for a verdict of this class (the API's `error` field,
    /// unchanged since before the classes were told apart).
    var answerReason: AttestationRefusal.Reason {
        switch self {
        case .nonce: .nonce
        case .revoked: .revoked
        case .evidence: .evidence
        case .counters: .counters
        case .missingPolicy, .unreadablePolicy, .unmeasuredImage, .policy, .unmeasuredFirstUse, .unpinnable: .policy
        }
    }
}
