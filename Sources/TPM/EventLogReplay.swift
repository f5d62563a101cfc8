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
        for bank in banks {
            guard let algorithm = bank.algorithm.digestAlgorithm else { continue }
            var hasher = Hasher(algorithm)
            var pcrs = [[UInt8]?](repeating: nil, count: EventLogParser.highestPCR + 1)
            for event in events where event.type != .noAction {
                guard let digest = event.digest(bank.algorithm) else { continue }
                hasher.update(pcrs[event.pcr] ?? initialValue(pcr: event.pcr, size: algorithm.digestSize))
                hasher.update(digest)
                pcrs[event.pcr] = hasher.finalize()
            }
            var values: [Int: [UInt8]] = [:]
            for (pcr, value) in pcrs.enumerated() { if let value { values[pcr] = value } }
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
