import TPM
import TSS

/// libFuzzer entry: TPM2B_PUBLIC decoding and its use as an attestation key (or a PEM key).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPublic(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? TPMPublic.decode(bytes)
    if let key = try? AttestationKey(file: bytes) { _ = key.name }
    _ = try? PCRSelection.decode(marshaled: bytes)
    _ = try? DigestList.decode(bytes)
    return 0
}
