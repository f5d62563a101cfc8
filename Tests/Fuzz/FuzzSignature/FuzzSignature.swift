import TSS

/// libFuzzer entry: TPMT_SIGNATURE decoding; what decodes as an accepted scheme must
/// marshal back to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignature(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let signature = try? TPMSignature.decode(bytes), signature.hash != nil {
        precondition((try? signature.marshaled()) == bytes, "decoded signature does not marshal back to its bytes")
    }
    return 0
}
