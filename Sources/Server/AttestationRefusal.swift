/// Why the attestation flow refused a request. The message is what the agent is told;
/// it never holds a secret.
public struct AttestationRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case unknownEndorsementKey, revoked, attestationKey, notActivated, activation, nonce, evidence, policy, counters, limit, internalError
    }

    public let reason: Reason
    public let detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}
