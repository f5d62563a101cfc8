import TSS

/// The outcome of verifying a quote. Only the verifier can make a ``VerifiedQuote``, so code
/// holding one knows every check passed.
public enum QuoteVerdict: Sendable {
    case verified(VerifiedQuote)
    case rejected(RejectedQuote)

    /// The failures, empty when verified.
    public var failures: [QuoteFailure] {
        switch self {
        case .verified: []
        case .rejected(let rejection): rejection.failures
        }
    }

    /// The decoded attestation (trusted only when verified), for reporting.
    public var attest: TPMAttest? {
        switch self {
        case .verified(let quote): quote.attest
        case .rejected(let rejection): rejection.attest
        }
    }
}

/// A quote whose signature, origin, freshness and PCR values all checked out.
public struct VerifiedQuote: Sendable {
    /// The signed attestation.
    public let attest: TPMAttest
    /// The quoted PCR values, proven by the signed digest.
    public let pcrValues: PCRValues
    /// The TPM's clock when it signed, for monotonicity checks against earlier quotes.
    public var clockInfo: TPMAttest.ClockInfo { attest.clockInfo }
    /// The measured boot, when an event log was supplied and replayed to the quoted values.
    public let measuredBoot: MeasuredBoot?

    init(attest: TPMAttest, pcrValues: PCRValues, measuredBoot: MeasuredBoot?) {
        self.attest = attest
        self.pcrValues = pcrValues
        self.measuredBoot = measuredBoot
    }
}

/// A quote that failed one or more checks, with every failure found.
public struct RejectedQuote: Sendable {
    public let failures: [QuoteFailure]
    /// The attestation as decoded, if it decoded; not trustworthy.
    public let attest: TPMAttest?
}

/// An event log whose replay equals the quoted PCRs, and what it says.
public struct MeasuredBoot: Sendable {
    public let eventLog: EventLog
    /// The replayed values of every PCR the log extends.
    public let replay: PCRBankValues
    /// PCRs whose replayed value a quote confirmed: only their events can be relied on.
    public let anchoredPCRs: Set<Int>
    /// Facts derived from events in anchored PCRs only.
    public let facts: BootFacts
    /// The SHA-256 of the log's bytes, when the verifier worked it out (to look up the
    /// replay it keeps), so that whoever keeps the log by digest need not hash it again.
    public let sha256: [UInt8]?
}
