import Boot

/// libFuzzer entry: a TFTP packet parses or is refused, never crashes; a parsed packet
/// serialises to bytes that parse to the same packet; a parsed read request's options
/// negotiate within bounds and its name is judged without touching the file system.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTFTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let packet = try? TFTPPacket.parse(bytes[...]) else { return 0 }
    precondition((try? TFTPPacket.parse(packet.bytes[...])) == packet, "a parsed packet does not survive serialising")
    if case .readRequest(let file, _, let options) = packet {
        let negotiation = TFTPNegotiation(requested: options, fileSize: size)
        precondition(
            (8...65_464).contains(negotiation.blockSize) && (1...64).contains(negotiation.windowSize),
            "negotiation out of bounds")
        _ = BootFileRoot.isAcceptable(file)
    }
    return 0
}
