import Boot

/// libFuzzer entry: a DHCP message parses or is refused, never crashes; a parsed one
/// serialises to a message that parses to the same one; ProxyDHCP's decision on it never
/// crashes, and any reply it makes parses too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDHCP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let packet = try? DHCPPacket.parse(bytes[...]) else { return 0 }
    precondition((try? DHCPPacket.parse(packet.bytes[...])) == packet, "a parsed message does not survive serialising")
    var settings = ProxyDHCPResponder.Settings(serverAddress: [10, 213, 0, 1], httpBase: "http://10.213.0.1:8080")
    settings.arm64File = "arm64.efi"
    for port in [ProxyDHCPResponder.Port.dhcp, .bootServer] {
        if case .reply(let reply) = ProxyDHCPResponder(settings: settings).decide(packet, on: port) {
            precondition((try? DHCPPacket.parse(reply.bytes[...])) != nil, "a reply does not parse")
        }
    }
    return 0
}
