import TPM
import TSS
import WardenCrypto

/// What `warden eventlog show` prints. The facts are what the log claims; nothing anchors
/// them to a TPM until a quote's PCRs match the replay.
struct EventLogReport: Encodable {
    struct Event: Encodable {
        let index: Int
        let pcr: Int
        let type: String
        let typeValue: String
        let digests: [String: String]
        let data: [String: String]
        let dataDigestMismatch: Bool?
    }

    let format: String
    let banks: [String]
    let startupLocality: UInt8?
    let events: [Event]
    let pcrs: PCRMap
    let facts: BootFactsReport
    private let pcrLines: [String]
    private let factLines: [String]

    init(_ log: EventLog) {
        let mismatched = Set(log.eventDataMismatches().map(\.eventIndex))
        format = log.format.rawValue
        banks = log.banks.map { "\($0.algorithm)" }
        startupLocality = log.startupLocality
        events = log.events.map { event in
            Event(
                index: event.index, pcr: event.pcr, type: event.type.description,
                typeValue: "0x" + String(event.type.rawValue, radix: 16),
                digests: Dictionary(
                    event.digests.map { ("\($0.algorithm)", Hex.encode($0.bytes)) }, uniquingKeysWith: { a, _ in a }),
                data: Dictionary(
                    EventDescription(event).fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                dataDigestMismatch: mismatched.contains(event.index) ? true : nil
            )
        }
        let replay = log.replay()
        pcrs = replay.map
        pcrLines = replay.lines
        let facts = log.bootFacts(anchoredPCRs: Set(0...23), excluding: mismatched)
        self.facts = facts.report
        factLines = facts.lines
    }

    private enum CodingKeys: String, CodingKey {
        case format, banks, startupLocality, events, pcrs, facts
    }

    var text: String {
        var lines = [
            "\(format) event log, banks \(banks.joined(separator: ", ")), \(events.count) events"
                + (startupLocality.map { ", StartupLocality \($0)" } ?? "")
        ]
        for event in events {
            lines.append(
                "#\(event.index) PCR \(event.pcr) \(event.type)"
                    + (event.dataDigestMismatch == true ? "  ✗ data does not match digest" : ""))
            for (bank, digest) in event.digests.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(bank): \(digest)")
            }
            for (name, value) in event.data.sorted(by: { $0.key < $1.key }) { lines.append("    \(name) = \(value)") }
        }
        lines.append("replayed PCRs:")
        lines += pcrLines
        lines.append("claimed by the log (not verified against a quote):")
        lines += factLines
        return lines.joined(separator: "\n")
    }
}
