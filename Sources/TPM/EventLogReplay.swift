import TSS
import WardenCrypto

/// PCR values per bank, as an event log's replay or a TPM's report gives them.
public struct PCRBankValues: Sendable, Equatable {
    /// bank → PCR index → value.
    public let banks: [TPMAlgorithmID: [Int: [UInt8]]]

    public init(_ banks: [TPMAlgorithmID: [Int: [UInt8]]]) { self.banks = banks }

    /// The value of `pcr` in `bank`, if present.
    public func value(bank: TPMAlgorithmID, pcr: Int) -> [UInt8]? { banks[bank]?[pcr] }
}

extension EventLog {
    /// Replays every measurement into PCR values, per bank whose hash Warden supports.
    /// PCRs start at zero, except PCR 0, whose last byte is the StartupLocality when the
    /// log declares one. Only PCRs that events extend appear in the result.
    public func replay() -> PCRBankValues {
        var result: [TPMAlgorithmID: [Int: [UInt8]]] = [:]
        let pcrCount = EventLogParser.highestPCR + 1
        for bank in banks {
            guard let algorithm = bank.algorithm.digestAlgorithm else { continue }
            let size = algorithm.digestSize
            var hasher = Hasher(algorithm)
            var state = [UInt8](repeating: 0, count: pcrCount * size)  // PCR i at i * size
            var extended = [Bool](repeating: false, count: pcrCount)
            if let startupLocality { state[size - 1] = startupLocality }
            // Borrowing events through the buffer avoids copying (and retaining) each one.
            events.withUnsafeBufferPointer { events in
                state.withUnsafeMutableBytes { raw in
                    for index in events.indices where events[index].type != .noAction {
                        let pcr = events[index].pcr
                        guard let digest = events[index].digest(bank.algorithm) else { continue }
                        let slot = UnsafeMutableRawBufferPointer(rebasing: raw[(pcr * size)..<((pcr + 1) * size)])
                        hasher.update(UnsafeRawBufferPointer(slot))
                        hasher.update(digest)
                        hasher.finalize(into: slot)
                        extended[pcr] = true
                    }
                }
            }
            var values: [Int: [UInt8]] = [:]
            for pcr in 0..<pcrCount where extended[pcr] {
                values[pcr] = Array(state[(pcr * size)..<((pcr + 1) * size)])
            }
            result[bank.algorithm] = values
        }
        return PCRBankValues(result)
    }

    /// A PCR's value after TPM2_Startup, before any measurement.
    public func initialValue(pcr: Int, size: Int) -> [UInt8] {
        var value = [UInt8](repeating: 0, count: size)
        if pcr == 0, let startupLocality { value[size - 1] = startupLocality }
        return value
    }
}
