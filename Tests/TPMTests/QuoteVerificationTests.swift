import Testing
import TestSupport
import TPM
import TSS
import WardenCrypto

/// Good evidence from a real software TPM verifies, as tpm2_checkquote agrees.
@Suite struct QuoteVerificationTests {
    static let goodQuotes: [(quote: String, ak: String, log: Bool, hash: String)] = [
        ("rsa", "rsa", false, "sha256"), ("rsa", "rsa", true, "sha256"), ("log", "rsa", true, "sha256"),
        ("ecc", "ecc", false, "sha256"), ("ecc", "ecc", true, "sha256"), ("ecc384", "ecc384", true, "sha384"),
        ("rsa24", "rsa", true, "sha256"), ("other", "other", false, "sha256"), ("rsapss", "rsapss", true, "sha256"),
    ]

    @Test(arguments: goodQuotes)
    func genuineQuoteVerifies(quote: String, ak: String, log: Bool, hash: String) throws {
        let files = try QuoteFiles.swtpm(quote, ak: ak, eventLog: log, hash: hash)
        let verdict = QuoteVerifier().verify(files.evidence)
        guard case .verified(let verified) = verdict else {
            Issue.record("rejected: \(verdict.failures)")
            return
        }
        #expect(verified.attest.extraData == files.nonce)
        #expect(verified.clockInfo.resetCount > 0 || verified.clockInfo.clock > 0)
        #expect(verified.pcrValues == (try files.pcrValues))
        if log {
            let boot = try #require(verified.measuredBoot)
            #expect(boot.anchoredPCRs == Set(0...7))
            #expect(boot.facts.secureBootEnabled == true)
            #expect(boot.facts.bootApplications.count == 2)
            #expect(Set(boot.facts.secureBootDatabases.keys) == ["PK", "KEK", "db", "dbx"])
        } else {
            #expect(verified.measuredBoot == nil)
        }
    }

    /// A verifier that keeps replayed logs by their SHA-256 judges a log it has seen as a
    /// verifier without the cache does, and a log changed in one digest byte afresh.
    @Test func aKeptLogIsJudgedAsBeforeAndAChangedOneAfresh() throws {
        let files = try QuoteFiles.swtpm("log", ak: "rsa", eventLog: true)
        let verifier = QuoteVerifier(logs: BoundedCache(capacity: 4))
        guard case .verified(let uncached) = QuoteVerifier().verify(files.evidence) else {
            throw CommandFailure("the evidence does not verify")
        }
        for _ in 0..<2 {
            guard case .verified(let kept) = verifier.verify(files.evidence) else {
                throw CommandFailure("the evidence does not verify with the cache")
            }
            #expect(kept.measuredBoot?.replay == uncached.measuredBoot?.replay)
            #expect(kept.measuredBoot?.anchoredPCRs == uncached.measuredBoot?.anchoredPCRs)
            #expect(kept.measuredBoot?.facts == uncached.measuredBoot?.facts)
            // The digest it keeps the log under is the log's, handed on to whoever keeps the log.
            #expect(kept.measuredBoot?.sha256 == files.evidence.eventLog.map { DigestAlgorithm.sha256.hash($0) })
        }
        #expect(uncached.measuredBoot != nil && uncached.measuredBoot?.sha256 == nil)
        var changed = files.evidence
        var log = try #require(changed.eventLog)
        let first = try #require(uncached.measuredBoot?.eventLog.events.first { $0.pcr == 0 && $0.type != .noAction })
        // Digests are slices of the log's bytes: the quoted bank's, changed, no longer replays.
        log[try #require(first.digest(.sha256)).startIndex] ^= 1
        changed.eventLog = log
        let failures = verifier.verify(changed).failures
        #expect(!failures.isEmpty && failures == QuoteVerifier().verify(changed).failures, "\(failures)")
    }

    /// tpm2_checkquote 5.4 accepts the same good quotes — except RSA-PSS ones, which it
    /// cannot check (it verifies PKCS#1 v1.5 only), and with `-e` only when every quoted
    /// PCR is in the log (quote_log), since it also compares PCRs 14, 16 and 23.
    @Test func tpm2CheckquoteAgreesOnGoodQuotes() throws {
        for (quote, ak, log, hash) in Self.goodQuotes where quote != "rsapss" && (!log || quote == "log") {
            #expect(try QuoteFiles.swtpm(quote, ak: ak, eventLog: log, hash: hash).tpm2CheckquoteAccepts(), "\(quote)")
        }
    }

    @Test func pemKeyVerifiesTheSameQuote() throws {
        var files = try QuoteFiles.swtpm("ecc", ak: "ecc")
        files.evidence.attestationKey = try SwtpmEvidence.bytes("ak_ecc.pem")
        let verdict = QuoteVerifier().verify(files.evidence)
        #expect(verdict.failures.isEmpty)
    }

    /// An empty nonce would skip the check, and a TPM2B_DATA here holds at most 64 bytes.
    @Test func aNonceIsAlwaysRequired() throws {
        var files = try QuoteFiles.swtpm("ecc", ak: "ecc")
        for nonce in [[], [UInt8](repeating: 1, count: 65)] {
            files.nonce = nonce
            #expect(QuoteVerifier().verify(files.evidence).failures.map(\.check) == [.nonce], "\(nonce.count) bytes")
        }
    }

    /// Every prefix of genuine evidence is rejected, and nothing crashes.
    @Test func everyTruncatedInputIsRejected() throws {
        let files = try QuoteFiles.swtpm("ecc", ak: "ecc")
        let verifier = QuoteVerifier()
        let fields: [(WritableKeyPath<Evidence, [UInt8]>, QuoteCheck)] = [
            (\.attest, .attest), (\.signature, .signatureFormat), (\.attestationKey, .attestationKey),
        ]
        for (field, check) in fields {
            let full = files.evidence[keyPath: field]
            for length in 0..<full.count {
                var evidence = files.evidence
                evidence[keyPath: field] = Array(full.prefix(length))
                let failures = verifier.verify(evidence).failures.map(\.check)
                #expect(failures.contains(check), "\(check) cut to \(length): \(failures)")
            }
        }
        let pcrFile = files.evidence.pcrs
        for length in stride(from: 0, to: pcrFile.count, by: 7) {
            var evidence = files.evidence
            evidence.pcrs = Array(pcrFile.prefix(length))
            #expect(verifier.verify(evidence).failures.map(\.check) == [.pcrValues])
        }
    }

    /// The serialized PCR format round-trips through Warden and is what tpm2-tools wrote.
    @Test func pcrFileRoundTrips() throws {
        for quote in ["rsa", "rsa24", "ecc384"] {
            let bytes = try SwtpmEvidence.bytes("quote_\(quote).pcrs")
            #expect(try TPM2ToolsPCRFile.serialize(TPM2ToolsPCRFile.parse(bytes)) == bytes, "\(quote)")
        }
    }
}
