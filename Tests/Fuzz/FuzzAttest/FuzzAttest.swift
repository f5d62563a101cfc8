import TSS

/// libFuzzer entry: TPMS_ATTEST and TPM2B_ATTEST decoding must refuse or accept, never
/// crash; a decoded quote marshals to bytes that decode to the same quote.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAttest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let attest = try? TPMAttest.decode(bytes), attest.quote != nil {
        let again = (try? attest.marshaled()).flatMap { try? TPMAttest.decode($0) }
        precondition(again == attest, "a decoded quote does not survive marshaling")
    }
    _ = try? TPMAttest.unwrap(tpm2b: bytes)
    _ = TPMAttest.decodeHeader(bytes)
    return 0
}
