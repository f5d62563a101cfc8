import TSS

/// What an attester hands over for one quote, as received: nothing in it is trusted yet.
public struct QuoteEvidence: Sendable {
    /// Where the PCR values come from.
    public enum PCRSource: Sendable {
        /// A `tpm2_quote -o` file in tpm2-tools' default serialized format.
        case tpm2Tools([UInt8])
        /// Values already paired with their selection.
        case values(PCRValues)
    }

    /// The AK's TPM2B_PUBLIC (`tpm2_createak -u`) or a PEM public key.
    public var attestationKey: [UInt8]
    /// The TPMS_ATTEST bytes exactly as the TPM signed them (`tpm2_quote -m`).
    public var attest: [UInt8]
    /// The TPMT_SIGNATURE (`tpm2_quote -s`).
    public var signature: [UInt8]
    /// The PCR values the quote is claimed to cover.
    public var pcrs: PCRSource
    /// The firmware's event log (`binary_bios_measurements`), if supplied.
    public var eventLog: [UInt8]?

    public init(attestationKey: [UInt8], attest: [UInt8], signature: [UInt8], pcrs: PCRSource, eventLog: [UInt8]? = nil) {
        self.attestationKey = attestationKey
        self.attest = attest
        self.signature = signature
        self.pcrs = pcrs
        self.eventLog = eventLog
    }
}

/// What a verifier expects of a quote.
public struct QuoteExpectation: Sendable {
    /// The nonce the verifier issued; `extraData` must equal it.
    public let nonce: [UInt8]
    /// Whether SHA-1 signatures and PCR digests are accepted (never by default).
    public let allowSHA1: Bool

    /// An expectation; a nonce is required, so its check can never be skipped.
    public init(nonce: [UInt8], allowSHA1: Bool = false) throws(QuoteExpectationError) {
        guard (1...64).contains(nonce.count) else { throw QuoteExpectationError(nonceLength: nonce.count) }
        self.nonce = nonce
        self.allowSHA1 = allowSHA1
    }
}

/// A nonce of unusable length (a TPM2B_DATA holds 1 to 64 bytes here; empty would skip the check).
public struct QuoteExpectationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let nonceLength: Int
    public var description: String { "a nonce of 1 to 64 bytes is required (got \(nonceLength))" }
}
