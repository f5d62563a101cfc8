import Octets
import TSS
import WardenCrypto

/// A parsed TCG PC Client Platform Firmware Profile event log (Linux's
/// `binary_bios_measurements`), in either the SHA-1 format or the crypto-agile format.
///
/// Parsing only checks structure. What the log means is established by replaying it
/// (``replay()``) and comparing the result with PCR values a TPM quoted.
public struct EventLog: Sendable {
    /// Logs larger than this are refused.
    public static let maxSize = 1 << 20
    /// Logs with more events than this are refused.
    public static let maxEvents = 10_000

    /// The log's format.
    public enum Format: String, Sendable {
        /// TCG_PCClientPCREvent records with one SHA-1 digest each.
        case sha1
        /// A "Spec ID Event03" header, then TCG_PCR_EVENT2 records with a digest per bank.
        case cryptoAgile = "crypto-agile"
    }

    /// A PCR bank the log declares, with its digest size.
    public struct Bank: Sendable, Equatable {
        public let algorithm: TPMAlgorithmID
        public let digestSize: Int
    }

    public let format: Format
    /// The banks every event carries a digest for, in declared order.
    public let banks: [Bank]
    /// Locality from a StartupLocality EV_NO_ACTION event: PCR 0's initial value ends in it.
    public let startupLocality: UInt8?
    /// Every record, the header included, in log order.
    public let events: [LogEvent]

    /// Parses `bytes`, checking every declared length and count before using it.
    public static func parse(_ bytes: [UInt8]) throws(EventLogError) -> EventLog {
        guard bytes.count <= maxSize else {
            throw EventLogError(
                offset: 0, eventIndex: nil, reason: "log is \(bytes.count) bytes; at most \(maxSize) accepted")
        }
        var parser = EventLogParser(bytes)
        return try parser.parse()
    }

    /// The (bank, PCR) digests extended by events, in log order, skipping EV_NO_ACTION.
    public var measurements: [LogEvent] { events.filter { $0.type != .noAction } }
}

/// One record of an event log. Digests and data are slices of the log's bytes.
public struct LogEvent: Sendable {
    /// Position in the log, counting the header record as 0.
    public let index: Int
    /// Byte offset of the record in the log.
    public let offset: Int
    public let pcr: Int
    public let type: EventType
    /// One digest per bank, in the log's bank order.
    public let digests: [(algorithm: TPMAlgorithmID, bytes: ArraySlice<UInt8>)]
    /// The event data (unmeasured unless the event type's digest covers it).
    public let data: ArraySlice<UInt8>

    /// The digest for `algorithm`, if the event has one.
    public func digest(_ algorithm: TPMAlgorithmID) -> ArraySlice<UInt8>? {
        digests.first { $0.algorithm == algorithm }?.bytes
    }
}

/// Reads records one by one from a log's bytes.
package struct EventLogParser {
    package static let specIDSignature = Array("Spec ID Event03".utf8) + [0]
    /// Headers of SHA-1 format logs that carry a (TPM 1.2 era) Spec ID structure.
    static let sha1SpecIDSignatures = [Array("Spec ID Event00".utf8) + [0], Array("Spec ID Event02".utf8) + [0]]
    static let startupLocalitySignature = Array("StartupLocality".utf8) + [0]
    static let highestPCR = 23

    private let bytes: [UInt8]
    private var offset = 0
    private var eventIndex = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parse() throws(EventLogError) -> EventLog {
        guard !bytes.isEmpty else { throw failure("log is empty") }
        let header = try readSHA1Event()
        var events = [header]
        let format: EventLog.Format
        let banks: [EventLog.Bank]
        if header.type == .noAction, header.data.starts(with: Self.specIDSignature) {
            format = .cryptoAgile
            banks = try Self.parseSpecID(header.data, at: header.offset + 32)
        } else if header.type == .noAction, !Self.sha1SpecIDSignatures.contains(where: { header.data.starts(with: $0) })
        {
            throw EventLogError(
                offset: 0, eventIndex: 0, reason: "log starts with an EV_NO_ACTION event that is not a Spec ID header")
        } else {
            format = .sha1
            banks = [EventLog.Bank(algorithm: .sha1, digestSize: 20)]
        }
        var startupLocality: UInt8?
        while offset < bytes.count {
            guard events.count < EventLog.maxEvents else {
                throw failure("more than \(EventLog.maxEvents) events")
            }
            let event = format == .sha1 ? try readSHA1Event() : try readAgileEvent(banks)
            if event.type == .noAction, event.data.starts(with: Self.startupLocalitySignature) {
                guard event.pcr == 0, event.data.count == 17 else {
                    throw EventLogError(
                        offset: event.offset, eventIndex: event.index, reason: "malformed StartupLocality event")
                }
                guard startupLocality == nil else {
                    throw EventLogError(
                        offset: event.offset, eventIndex: event.index, reason: "second StartupLocality event")
                }
                guard !events.contains(where: { $0.pcr == 0 && $0.type != .noAction }) else {
                    throw EventLogError(
                        offset: event.offset, eventIndex: event.index,
                        reason: "StartupLocality after PCR 0 was extended")
                }
                startupLocality = event.data.last
            }
            events.append(event)
        }
        guard events.contains(where: { $0.type != .noAction }) else {
            throw EventLogError(offset: bytes.count, eventIndex: nil, reason: "log records no measurements")
        }
        return EventLog(format: format, banks: banks, startupLocality: startupLocality, events: events)
    }

    /// TCG_PCClientPCREvent: pcrIndex, eventType, SHA-1 digest, eventSize, event.
    private mutating func readSHA1Event() throws(EventLogError) -> LogEvent {
        let start = offset
        let pcr = try u32("PCR index")
        let type = EventType(rawValue: try u32("event type"))
        let digest = try take(20, "SHA-1 digest")
        let size = Int(try u32("event size"))
        let data = try take(size, "event data")
        return try finish(start: start, pcr: pcr, type: type, digests: [(.sha1, digest)], data: data)
    }

    /// TCG_PCR_EVENT2: pcrIndex, eventType, TPML_DIGEST_VALUES, eventSize, event.
    private mutating func readAgileEvent(_ banks: [EventLog.Bank]) throws(EventLogError) -> LogEvent {
        let start = offset
        let pcr = try u32("PCR index")
        let type = EventType(rawValue: try u32("event type"))
        let count = Int(try u32("digest count"))
        guard count == banks.count else {
            throw failure("\(count) digests, but the log declares \(banks.count) banks", at: start)
        }
        var digests: [(algorithm: TPMAlgorithmID, bytes: ArraySlice<UInt8>)] = []
        digests.reserveCapacity(count)
        for _ in 0..<count {
            let algorithm = TPMAlgorithmID(rawValue: try u16("digest algorithm"))
            guard let bank = banks.first(where: { $0.algorithm == algorithm }) else {
                throw failure("digest for undeclared algorithm \(algorithm)", at: start)
            }
            guard !digests.contains(where: { $0.algorithm == algorithm }) else {
                throw failure("two \(algorithm) digests in one event", at: start)
            }
            digests.append((algorithm, try take(bank.digestSize, "\(algorithm) digest")))
        }
        let size = Int(try u32("event size"))
        let data = try take(size, "event data")
        return try finish(start: start, pcr: pcr, type: type, digests: digests, data: data)
    }

    private mutating func finish(
        start: Int, pcr: UInt32, type: EventType,
        digests: [(algorithm: TPMAlgorithmID, bytes: ArraySlice<UInt8>)], data: ArraySlice<UInt8>
    ) throws(EventLogError) -> LogEvent {
        guard type == .noAction || pcr <= Self.highestPCR else {
            throw failure("PCR index \(pcr) out of range 0–\(Self.highestPCR)", at: start)
        }
        let event = LogEvent(index: eventIndex, offset: start, pcr: Int(pcr), type: type, digests: digests, data: data)
        eventIndex += 1
        return event
    }

    /// TCG_EfiSpecIDEventStruct: the banks and digest sizes of a crypto-agile log.
    private static func parseSpecID(_ data: ArraySlice<UInt8>, at base: Int) throws(EventLogError) -> [EventLog.Bank] {
        let d = Array(data)
        func fail(_ reason: String) -> EventLogError {
            EventLogError(offset: base, eventIndex: 0, reason: "Spec ID event: \(reason)")
        }
        // signature[16] platformClass u32, versions 3 × u8, uintnSize u8, numberOfAlgorithms u32
        guard d.count >= 28 else { throw fail("truncated (\(d.count) bytes)") }
        let count = Int(LittleEndian.read(UInt32.self, data, at: 24))
        guard (1...16).contains(count) else { throw fail("\(count) algorithms declared (1 to 16 accepted)") }
        guard d.count >= 28 + count * 4 + 1 else { throw fail("truncated algorithm list") }
        var banks: [EventLog.Bank] = []
        for slot in 0..<count {
            let algorithm = TPMAlgorithmID(rawValue: LittleEndian.read(UInt16.self, data, at: 28 + slot * 4))
            let size = Int(LittleEndian.read(UInt16.self, data, at: 30 + slot * 4))
            guard (1...64).contains(size) else { throw fail("digest size \(size) for \(algorithm)") }
            if let known = algorithm.digestAlgorithm, known.digestSize != size {
                throw fail("\(algorithm) declared with \(size)-byte digests, not \(known.digestSize)")
            }
            guard !banks.contains(where: { $0.algorithm == algorithm }) else {
                throw fail("\(algorithm) declared twice")
            }
            banks.append(EventLog.Bank(algorithm: algorithm, digestSize: size))
        }
        let vendorInfoSize = Int(d[28 + count * 4])
        guard d.count == 28 + count * 4 + 1 + vendorInfoSize else {
            throw fail("vendor info of \(vendorInfoSize) bytes does not fill the event's \(d.count) bytes")
        }
        return banks
    }

    private mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws(EventLogError) -> ArraySlice<
        UInt8
    > {
        guard count <= bytes.count - offset else {
            throw failure("\(what()) needs \(count) bytes, \(bytes.count - offset) left")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    private mutating func u32(_ what: String) throws(EventLogError) -> UInt32 {
        LittleEndian.read(UInt32.self, try take(4, what), at: 0)
    }

    private mutating func u16(_ what: String) throws(EventLogError) -> UInt16 {
        LittleEndian.read(UInt16.self, try take(2, what), at: 0)
    }

    private func failure(_ reason: String, at position: Int? = nil) -> EventLogError {
        EventLogError(offset: position ?? offset, eventIndex: eventIndex, reason: reason)
    }
}
