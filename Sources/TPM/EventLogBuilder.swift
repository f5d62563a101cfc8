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
        spec += Self.le32(0) + [0, 2, 0, 2] + Self.le32(UInt32(banks.count))  // platformClass, 2.0 errata 0, uintnSize 2
        for bank in banks { spec += Self.le16(bank.tpmAlgorithm.rawValue) + Self.le16(UInt16(bank.digestSize)) }
        spec.append(0)  // vendorInfoSize
        bytes = Self.le32(0) + Self.le32(EventType.noAction.rawValue) + [UInt8](repeating: 0, count: 20)
            + Self.le32(UInt32(spec.count)) + spec
    }

    /// Appends an event whose digest in each bank is the hash of `data`.
    public mutating func measure(pcr: Int, type: EventType, data: [UInt8]) {
        append(pcr: pcr, type: type, digests: banks.map { $0.hash(data) }, data: data)
    }

    /// Appends an event with explicit digests, one per bank in bank order.
    public mutating func append(pcr: Int, type: EventType, digests: [[UInt8]], data: [UInt8]) {
        precondition(digests.count == banks.count, "one digest per bank")
        bytes += Self.le32(UInt32(pcr)) + Self.le32(type.rawValue) + Self.le32(UInt32(banks.count))
        for (bank, digest) in zip(banks, digests) { bytes += Self.le16(bank.tpmAlgorithm.rawValue) + digest }
        bytes += Self.le32(UInt32(data.count)) + data
    }

    /// The log so far.
    public var log: [UInt8] { bytes }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xff) } }
}
