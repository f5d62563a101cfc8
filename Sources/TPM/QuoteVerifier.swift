import Octets
import TSS
import WardenCrypto

/// Verifies TPM quotes. Every check runs, in a fixed order, and every failure is reported:
/// the AK and the signature over the exact attest bytes; TPM_GENERATED magic; the quote
/// type; the nonce (constant time); the PCR selection against the supplied values; the
/// PCR digest; then, with an event log, its structure, event data and replay.
public struct QuoteVerifier: Sendable {
    /// Whether SHA-1 signatures and PCR digests are accepted (never by default).
    public let allowSHA1: Bool
    /// Where keys already read are kept, by the bytes they were read from, for a verifier
    /// that sees the same AKs again: building an AK's key is a fifth of a verification.
    private let keys: BoundedCache<[UInt8], AttestationKey>?
    /// Where logs already parsed, checked and replayed are kept, by their SHA-256, for a
    /// verifier that sees the same logs again (a machine's firmware writes the same log boot
    /// after boot): parsing and replaying one is most of a verification. Only logs of at
    /// most ``ReplayedEventLog/largestKept`` bytes are kept, so that the cache's memory stays
    /// bounded whatever machines send.
    private let logs: BoundedCache<[UInt8], ReplayedEventLog>?

    public init(
        allowSHA1: Bool = false, keys: BoundedCache<[UInt8], AttestationKey>? = nil,
        logs: BoundedCache<[UInt8], ReplayedEventLog>? = nil
    ) {
        self.allowSHA1 = allowSHA1
        self.keys = keys
        self.logs = logs
    }

    /// Verifies `evidence`: its quote must carry its nonce.
    public func verify(_ evidence: Evidence) -> QuoteVerdict {
        var failures: [QuoteFailure] = []
        let signatureHash = checkSignature(evidence, &failures)
        let attest: TPMAttest
        do {
            attest = try TPMAttest.decode(evidence.attest)
        } catch {
            failures.append(QuoteFailure(.attest, error.description))
            if let header = TPMAttest.decodeHeader(evidence.attest) {
                checkHeader(magic: header.magic, type: header.type, &failures)
            }
            return .rejected(RejectedQuote(failures: failures, attest: nil))
        }
        checkHeader(magic: attest.magic, type: attest.type, &failures)
        if !Evidence.nonceSizes.contains(evidence.nonce.count) {
            failures.append(QuoteFailure(.nonce, "a nonce of 1 to 64 bytes is required (got \(evidence.nonce.count))"))
        } else if !ConstantTime.equals(attest.extraData, evidence.nonce) {
            failures.append(
                QuoteFailure(
                    .nonce,
                    attest.extraData.isEmpty ? "the quote carries no nonce" : "extraData is not the expected nonce"))
        }
        guard let quote = attest.quote else {
            return .rejected(RejectedQuote(failures: failures, attest: attest))
        }
        let values = checkPCRValues(evidence.pcrs, quote, signatureHash, &failures)
        let measuredBoot = evidence.eventLog.flatMap { checkEventLog($0, values: values, &failures) }
        guard failures.isEmpty, let values else {
            return .rejected(RejectedQuote(failures: failures, attest: attest))
        }
        return .verified(VerifiedQuote(attest: attest, pcrValues: values, measuredBoot: measuredBoot))
    }

    /// A TPM puts TPM_GENERATED_VALUE only in structures it made itself; a quote has its own type.
    private func checkHeader(magic: UInt32, type: UInt16, _ failures: inout [QuoteFailure]) {
        if magic != TPMAttest.generatedMagic {
            failures.append(
                QuoteFailure(
                    .magic,
                    "magic is 0x\(Hex.encode(BigEndian.bytes(magic))), not TPM_GENERATED_VALUE 0xff544347: the TPM did not generate this structure"
                ))
        }
        if type != TPMAttest.quoteType {
            failures.append(
                QuoteFailure(.type, "type is 0x\(String(type, radix: 16)), not TPM_ST_ATTEST_QUOTE (0x8018)"))
        }
    }

    /// Checks the key, the signature's form and the signature itself; returns the signature's
    /// hash algorithm when it is known, since the quote's PCR digest uses the same one.
    private func checkSignature(
        _ evidence: Evidence, _ failures: inout [QuoteFailure]
    ) -> DigestAlgorithm? {
        let key: AttestationKey?
        do { key = try attestationKey(evidence.attestationKey) } catch {
            failures.append(QuoteFailure(.attestationKey, error.description))
            key = nil
        }
        let signature: TPMSignature
        do { signature = try TPMSignature.decode(evidence.signature) } catch {
            failures.append(QuoteFailure(.signatureFormat, error.description))
            return nil
        }
        let scheme: SignatureScheme
        switch SignatureSchemes.scheme(of: signature, allowSHA1: allowSHA1) {
        case .failure(let refusal):
            failures.append(QuoteFailure(.signatureAlgorithm, refusal.reason))
            return nil
        case .success(let accepted):
            scheme = accepted
        }
        guard let key else { return scheme.digest }
        if let reason = SignatureSchemes.mismatch(scheme, signature, key) {
            failures.append(QuoteFailure(.signatureAlgorithm, reason))
            return scheme.digest
        }
        let digest = scheme.digest.hash(evidence.attest)
        guard let bytes = SignatureSchemes.signatureBytes(signature),
            key.publicKey.isValidSignature(bytes, digest: digest, scheme: scheme)
        else {
            failures.append(
                QuoteFailure(
                    .signature, "the \(scheme) signature over the attest bytes does not verify with the attestation key"
                ))
            return scheme.digest
        }
        return scheme.digest
    }

    /// The AK `bytes` hold, from the cache when there is one.
    private func attestationKey(_ bytes: [UInt8]) throws(AttestationKeyError) -> AttestationKey {
        guard let keys else { return try AttestationKey(file: bytes) }
        return try keys.value(for: bytes) { () throws(AttestationKeyError) in try AttestationKey(file: bytes) }
    }

    /// Parses the supplied values (tpm2-tools' format) and checks them against the quote's
    /// selection and digest.
    private func checkPCRValues(
        _ bytes: [UInt8], _ quote: TPMAttest.QuoteInfo, _ signatureHash: DigestAlgorithm?,
        _ failures: inout [QuoteFailure]
    ) -> PCRValues? {
        let values: PCRValues
        do { values = try TPM2ToolsPCRFile.parse(bytes) } catch {
            failures.append(QuoteFailure(.pcrValues, error.description))
            return nil
        }
        if quote.selection != values.selection {
            failures.append(
                QuoteFailure(
                    .pcrSelection, "the quote selects \(quote.selection) but the values are for \(values.selection)"))
        }
        let hash = signatureHash ?? DigestAlgorithm.allCases.first { $0.digestSize == quote.pcrDigest.count }
        guard let hash, hash.digestSize == quote.pcrDigest.count else {
            failures.append(
                QuoteFailure(
                    .pcrDigest, "the quoted PCR digest has \(quote.pcrDigest.count) bytes, which fits no accepted hash")
            )
            return values
        }
        if hash == .sha1 && !allowSHA1 {
            failures.append(
                QuoteFailure(.pcrDigest, "a SHA-1 PCR digest is refused unless SHA-1 is explicitly allowed"))
        } else if values.compositeDigest(hash) != quote.pcrDigest {
            failures.append(
                QuoteFailure(
                    .pcrDigest, "the \(hash.rawValue) digest of the supplied PCR values is not the quoted PCR digest"))
        }
        return values
    }

    /// Parses, checks and replays the event log and compares the replay with `values` (nil
    /// when they could not be read). The result counts only when every check passed.
    private func checkEventLog(_ bytes: [UInt8], values: PCRValues?, _ failures: inout [QuoteFailure]) -> MeasuredBoot?
    {
        let replayed: ReplayedEventLog
        var sha256: [UInt8]?
        do throws(EventLogError) {
            if let logs, bytes.count <= ReplayedEventLog.largestKept {
                let digest = DigestAlgorithm.sha256.hash(bytes)
                sha256 = digest
                replayed = try logs.value(for: digest) { () throws(EventLogError) in try ReplayedEventLog(bytes) }
            } else {
                replayed = try ReplayedEventLog(bytes)
            }
        } catch {
            failures.append(QuoteFailure(.eventLog, error.description))
            return nil
        }
        let (log, replay) = (replayed.log, replayed.replay)
        failures += replayed.mismatches.map { QuoteFailure(.eventData, $0.description) }
        guard let values else { return nil }
        let comparison = ReplayComparison(log: log, replay: replay, quoted: values)
        failures += comparison.failures
        guard failures.isEmpty else { return nil }  // so no event's data failed its digest
        return MeasuredBoot(
            eventLog: log, replay: replay, anchoredPCRs: comparison.anchored,
            facts: replayed.bootFacts(anchoredPCRs: comparison.anchored), sha256: sha256)
    }
}

/// An event log parsed, its event data checked against the digests and replayed: what a
/// verifier works out from the log's bytes alone, the same for every quote it comes with.
public struct ReplayedEventLog: Sendable {
    /// The largest log a verifier keeps: real firmware logs are tens of kilobytes.
    public static let largestKept = 128 << 10

    public let log: EventLog
    public let mismatches: [EventDataMismatch]
    public let replay: PCRBankValues

    /// The boot facts by the PCRs they were derived from: a machine's quotes anchor the same
    /// PCRs boot after boot, so a kept log derives them once.
    private let facts = BoundedCache<Set<Int>, BootFacts>(capacity: 4)

    public init(_ bytes: [UInt8]) throws(EventLogError) {
        log = try EventLog.parse(bytes)
        mismatches = log.eventDataMismatches()
        replay = log.replay()
    }

    /// ``EventLog/bootFacts(anchoredPCRs:excluding:)`` of the log, excluding no event.
    public func bootFacts(anchoredPCRs: Set<Int>) -> BootFacts {
        facts.value(for: anchoredPCRs) { log.bootFacts(anchoredPCRs: anchoredPCRs, excluding: []) }
    }
}
