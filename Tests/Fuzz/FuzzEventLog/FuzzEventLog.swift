import TPM

/// libFuzzer entry: the event-log parser, replay, data checks, facts and descriptions.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let log = try? EventLog.parse(bytes) else { return 0 }
    _ = log.replay()
    let mismatched = Set(log.eventDataMismatches().map(\.eventIndex))
    _ = log.bootFacts(anchoredPCRs: Set(0...23), excluding: mismatched)
    for event in log.events { _ = EventDescription(event) }
    return 0
}
