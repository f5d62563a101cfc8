import TSS
import WardenCrypto

/// PCR values reported beside a quote: a selection and one value per selected PCR, in
/// selection order (banks in order, PCRs ascending).
public struct PCRValues: Sendable, Equatable {
    /// Which PCRs of which banks the values are for.
    public let selection: PCRSelection
    /// One value per selected PCR, in selection order.
    public let values: [[UInt8]]

    /// Pairs a selection with its values; every value must have its bank's digest size.
    public init(selection: PCRSelection, values: [[UInt8]]) throws(PCRValuesError) {
        guard selection.count == values.count else {
            throw PCRValuesError("\(values.count) values for \(selection.count) selected PCRs")
        }
        var index = 0
        for bank in selection.banks {
            guard let algorithm = bank.hash.digestAlgorithm else {
                throw PCRValuesError("unsupported PCR bank \(bank.hash)")
            }
            for pcr in bank.pcrs {
                guard values[index].count == algorithm.digestSize else {
                    throw PCRValuesError(
                        "PCR \(pcr) of bank \(bank.hash) has \(values[index].count) bytes, not \(algorithm.digestSize)")
                }
                index += 1
            }
        }
        guard Set(selection.banks.map(\.hash)).count == selection.banks.count else {
            throw PCRValuesError("a bank is listed twice")
        }
        self.selection = selection
        self.values = values
    }

    /// The value of `pcr` in `bank`, if selected.
    public func value(bank: TPMAlgorithmID, pcr: Int) -> [UInt8]? {
        var index = 0
        for entry in selection.banks {
            if entry.hash == bank, let position = entry.pcrs.firstIndex(of: pcr) { return values[index + position] }
            index += entry.pcrs.count
        }
        return nil
    }

    /// Every (bank, PCR, value), in selection order.
    public var entries: [(bank: TPMAlgorithmID, pcr: Int, value: [UInt8])] {
        var index = 0
        var result: [(bank: TPMAlgorithmID, pcr: Int, value: [UInt8])] = []
        for bank in selection.banks {
            for pcr in bank.pcrs {
                result.append((bank.hash, pcr, values[index]))
                index += 1
            }
        }
        return result
    }

    /// The digest a TPM puts in a quote for these values: the hash of their concatenation.
    public func compositeDigest(_ algorithm: DigestAlgorithm) -> [UInt8] {
        var hasher = Hasher(algorithm)
        for value in values { hasher.update(value) }
        return hasher.finalize()
    }
}

/// PCR values that do not fit their selection.
public struct PCRValuesError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid PCR values: \(reason)" }
}
