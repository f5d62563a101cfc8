import BundleLines

/// libFuzzer entry: one line of an audit bundle's `records.jsonl` or `checkpoints.jsonl`,
/// which an auditor reads from a file anyone may have crafted. It parses as a flat object or
/// is refused, never crashes; a parsed object written again parses to the same fields.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundleLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let object = try? FlatJSON.decode(bytes[...]) else { return 0 }
    var written: [UInt8] = []
    FlatJSON.append(object.fields, to: &written)
    guard let again = try? FlatJSON.decode(written[...]) else {
        preconditionFailure("a parsed line does not parse once written again")
    }
    precondition(
        again.fields.map(\.key) == object.fields.map(\.key) && again.fields.map(\.value) == object.fields.map(\.value),
        "fields changed")
    return 0
}
