import Octets
import TPM
import TSS
import WardenCrypto

/// Writes crypto-agile event logs: for software TPM identities, load generators and tests.
public struct EventLogBuilder: Sendable {
    /// The banks every event gets a digest for.
    public let banks: [DigestAlgorithm]
    private var bytes: [UInt8]

    /// A log with the Spec ID Event03 header declaring `banks`.
    public init(banks: [DigestAlgorithm]) {
        self.banks = banks
        var spec = EventLogParser.specIDSignature
        // platformClass, 2.0 errata 0, uintnSize 2
        spec += LittleEndian.bytes(UInt32(0)) + [0, 2, 0, 2] + LittleEndian.bytes(UInt32(banks.count))
        for bank in banks {
            spec += LittleEndian.bytes(bank.tpmAlgorithm.rawValue) + LittleEndian.bytes(UInt16(bank.digestSize))
        }
        spec.append(0)  // vendorInfoSize
        bytes =
            LittleEndian.bytes(UInt32(0)) + LittleEndian.bytes(EventType.noAction.rawValue)
            + [UInt8](repeating: 0, count: 20)
            + LittleEndian.bytes(UInt32(spec.count)) + spec
    }

    /// Appends an event whose digest in each bank is the hash of `data`.
    public mutating func measure(pcr: Int, type: EventType, data: [UInt8]) {
        append(pcr: pcr, type: type, digests: banks.map { $0.hash(data) }, data: data)
    }

    /// Appends an event with explicit digests, one per bank in bank order.
    public mutating func append(pcr: Int, type: EventType, digests: [[UInt8]], data: [UInt8]) {
        precondition(digests.count == banks.count, "one digest per bank")
        bytes +=
            LittleEndian.bytes(UInt32(pcr)) + LittleEndian.bytes(type.rawValue)
            + LittleEndian.bytes(UInt32(banks.count))
        for (bank, digest) in zip(banks, digests) { bytes += LittleEndian.bytes(bank.tpmAlgorithm.rawValue) + digest }
        bytes += LittleEndian.bytes(UInt32(data.count)) + data
    }

    /// The log so far.
    public var log: [UInt8] { bytes }
}
