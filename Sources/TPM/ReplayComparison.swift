import TSS
import WardenCrypto

/// Compares an event log's replay with quoted PCR values, bank by bank.
///
/// Every quoted PCR the log extends must match. A quoted PCR 0–7 (the firmware's, always
/// measured before the OS runs) must match even when the log has no events for it, so
/// deleting a PCR's events cannot hide them. Other quoted PCRs without events are left
/// unanchored (the OS may extend them after the log was read).
struct ReplayComparison {
    static let firmwarePCRs = 0...7

    private(set) var failures: [QuoteFailure] = []
    /// PCRs matched in every bank the quote and the log share.
    private(set) var anchored: Set<Int> = []

    init(log: EventLog, replay: PCRBankValues, quoted: PCRValues) {
        let shared = quoted.selection.banks.filter { bank in replay.banks[bank.hash] != nil }
        guard !shared.isEmpty else {
            let quotedBanks = quoted.selection.banks.map { "\($0.hash)" }.joined(separator: ",")
            let logBanks = log.banks.map { "\($0.algorithm)" }.joined(separator: ",")
            failures.append(
                QuoteFailure(.eventLogReplay, "the quote (\(quotedBanks)) and the log (\(logBanks)) share no PCR bank"))
            return
        }
        var mismatched: Set<Int> = []
        var matched: Set<Int> = []
        for bank in shared {
            let replayed = replay.banks[bank.hash] ?? [:]
            for pcr in bank.pcrs {
                guard let quotedValue = quoted.value(bank: bank.hash, pcr: pcr) else { continue }
                let expected: [UInt8]
                if let value = replayed[pcr] {
                    expected = value
                } else if Self.firmwarePCRs.contains(pcr) {
                    expected = log.initialValue(pcr: pcr, size: quotedValue.count)
                } else {
                    continue
                }
                if expected == quotedValue {
                    matched.insert(pcr)
                } else {
                    mismatched.insert(pcr)
                    let events = replayed[pcr] == nil ? " (the log has no events for it)" : ""
                    failures.append(
                        QuoteFailure(
                            .eventLogReplay,
                            "PCR \(pcr) (\(bank.hash)): the log replays to \(Hex.encode(expected)), the quote has \(Hex.encode(quotedValue))\(events)"
                        ))
                }
            }
        }
        anchored = matched.subtracting(mismatched)
    }
}
