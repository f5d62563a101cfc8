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
    /// Event types whose digest is, by the PC Client Platform Firmware Profile, the hash of
    /// exactly the event data. Others (EV_EFI_VARIABLE_BOOT hashes only the variable's data,
    /// EV_EFI_BOOT_SERVICES_APPLICATION the PE image) cannot be checked from the log.
    public static let dataDigestTypes: Set<EventType> = [
        .separator, .efiAction, .efiVariableDriverConfig,
    ]

    /// Every checked event whose data and digest disagree, in any bank Warden can hash.
    public func eventDataMismatches() -> [EventDataMismatch] {
        var mismatches: [EventDataMismatch] = []
        for event in events where Self.dataDigestTypes.contains(event.type) {
            for (algorithm, digest) in event.digests {
                guard let hash = algorithm.digestAlgorithm else { continue }
                if !hash.hash(event.data).elementsEqual(digest) {
                    mismatches.append(EventDataMismatch(eventIndex: event.index, pcr: event.pcr, type: event.type, bank: algorithm))
                }
            }
        }
        return mismatches
    }
}
