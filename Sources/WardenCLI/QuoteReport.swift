import TPM
import TSS
import WardenCrypto

/// What `warden quote verify` prints.
struct QuoteReport: Encodable {
    struct Failure: Encodable {
        let check: String
        let reason: String
    }

    struct Attest: Encodable {
        let type: String
        let qualifiedSigner: String
        let extraData: String
        let clock: UInt64
        let resetCount: UInt32
        let restartCount: UInt32
        let safe: Bool
        let firmwareVersion: String
        let pcrSelection: String?
        let pcrDigest: String?
    }

    struct MeasuredBootReport: Encodable {
        let events: Int
        let anchoredPCRs: [Int]
        let facts: BootFactsReport
    }

    let verified: Bool
    let failures: [Failure]
    let attest: Attest?
    let pcrs: PCRMap?
    let measuredBoot: MeasuredBootReport?
    private let factLines: [String]

    init(_ verdict: QuoteVerdict) {
        failures = verdict.failures.map { Failure(check: $0.check.rawValue, reason: $0.reason) }
        attest = verdict.attest.map { attest in
            Attest(
                type: "0x" + String(attest.type, radix: 16),
                qualifiedSigner: Hex.encode(attest.qualifiedSigner),
                extraData: Hex.encode(attest.extraData),
                clock: attest.clockInfo.clock, resetCount: attest.clockInfo.resetCount,
                restartCount: attest.clockInfo.restartCount, safe: attest.clockInfo.safe,
                firmwareVersion: "0x" + String(attest.firmwareVersion, radix: 16),
                pcrSelection: attest.quote.map { $0.selection.description },
                pcrDigest: attest.quote.map { Hex.encode($0.pcrDigest) }
            )
        }
        switch verdict {
        case .verified(let quote):
            verified = true
            pcrs = quote.pcrValues.map
            measuredBoot = quote.measuredBoot.map {
                MeasuredBootReport(
                    events: $0.eventLog.events.count, anchoredPCRs: $0.anchoredPCRs.sorted(), facts: $0.facts.report)
            }
            factLines = quote.measuredBoot?.facts.lines ?? []
        case .rejected:
            verified = false
            pcrs = nil
            measuredBoot = nil
            factLines = []
        }
    }

    private enum CodingKeys: String, CodingKey {
        case verified, failures, attest, pcrs, measuredBoot
    }

    var text: String {
        var lines = [verified ? "quote verified" : "quote REJECTED"]
        if let attest {
            lines.append("  signer \(attest.qualifiedSigner)")
            lines.append(
                "  clock \(attest.clock) ms, resetCount \(attest.resetCount), restartCount \(attest.restartCount), safe \(attest.safe ? "yes" : "no")"
            )
            if let selection = attest.pcrSelection { lines.append("  PCRs \(selection)") }
        }
        if let measuredBoot {
            let anchored = measuredBoot.anchoredPCRs.map(String.init).joined(separator: ",")
            lines.append("  event log: \(measuredBoot.events) events; replay matches quoted PCRs \(anchored)")
            lines += factLines
        }
        lines += failures.map { "  ✗ \($0.check): \($0.reason)" }
        return lines.joined(separator: "\n")
    }
}
