import TPM

/// libFuzzer entry: tpm2-tools' serialized PCR file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPCRFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let values = try? TPM2ToolsPCRFile.parse(bytes) {
        _ = values.compositeDigest(.sha256)
        _ = try? TPM2ToolsPCRFile.serialize(values)
    }
    return 0
}
