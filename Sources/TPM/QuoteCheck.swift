/// The checks quote verification makes, in the order it makes them.
public enum QuoteCheck: String, Sendable, CaseIterable, Codable {
    /// The attestation key is readable, accepted (algorithm, size, attributes).
    case attestationKey
    /// The signature decodes as a TPMT_SIGNATURE.
    case signatureFormat
    /// The signature's scheme and hash are accepted and fit the key.
    case signatureAlgorithm
    /// The signature over the exact attest bytes verifies under the key.
    case signature
    /// The attest bytes decode as a TPMS_ATTEST.
    case attest
    /// `magic` is TPM_GENERATED_VALUE.
    case magic
    /// `type` is TPM_ST_ATTEST_QUOTE.
    case type
    /// `extraData` is the expected nonce.
    case nonce
    /// The supplied PCR values are well formed.
    case pcrValues
    /// The quoted selection equals the selection of the supplied values, exactly.
    case pcrSelection
    /// The quoted PCR digest is the hash of the supplied values in selection order.
    case pcrDigest
    /// The event log parses.
    case eventLog
    /// Events whose digest covers their data have data that matches.
    case eventData
    /// The log replays to the quoted PCR values.
    case eventLogReplay
}

/// One failed check and why it failed.
public struct QuoteFailure: Sendable, Equatable, CustomStringConvertible {
    public let check: QuoteCheck
    public let reason: String

    public init(_ check: QuoteCheck, _ reason: String) {
        self.check = check
        self.reason = reason
    }

    public var description: String { "\(check.rawValue): \(reason)" }
}
