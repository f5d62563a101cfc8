import TSS
import WardenCrypto

/// An event whose data does not hash to its digest, for an event type whose digest the
/// PC Client spec defines as the hash of the event data.
public struct EventDataMismatch: Sendable, Equatable, CustomStringConvertible {
    public let eventIndex: Int
    public let pcr: Int
    public let type: EventType
    public let bank: TPMAlgorithmID

    public var description: String {
        "event \(eventIndex) (\(type), PCR \(pcr)): \(bank) digest is not the hash of its event data"
    }
}

extension EventLog {
    /// Whether an event type's digest is, by the PC Client Platform Firmware Profile, the hash of
    /// exactly the event data. Others (EV_EFI_VARIABLE_BOOT hashes only the variable's data,
    /// EV_EFI_BOOT_SERVICES_APPLICATION the PE image) cannot be checked from the log.
    public static func digestCoversData(_ type: EventType) -> Bool {
        switch type {
        case .separator, .efiAction, .efiVariableDriverConfig: true
        default: false
        }
    }

    /// Every checked event whose data and digest disagree, in any bank Warden can hash.
    public func eventDataMismatches() -> [EventDataMismatch] {
        var mismatches: [EventDataMismatch] = []
        for bank in banks {
            guard let algorithm = bank.algorithm.digestAlgorithm else { continue }
            var hasher = Hasher(algorithm)
            var computed = [UInt8](repeating: 0, count: algorithm.digestSize)
            events.withUnsafeBufferPointer { events in  // borrow, do not copy, each event
                for index in events.indices where Self.digestCoversData(events[index].type) {
                    guard let digest = events[index].digest(bank.algorithm) else { continue }
                    hasher.update(events[index].data)
                    computed.withUnsafeMutableBytes { hasher.finalize(into: $0) }
                    if !computed.elementsEqual(digest) {
                        let event = events[index]
                        mismatches.append(
                            EventDataMismatch(
                                eventIndex: event.index, pcr: event.pcr, type: event.type, bank: bank.algorithm))
                    }
                }
            }
        }
        return mismatches.sorted { ($0.eventIndex, $0.bank.rawValue) < ($1.eventIndex, $1.bank.rawValue) }
    }
}
