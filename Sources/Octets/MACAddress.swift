/// An Ethernet hardware address. Read from `aa:bb:cc:dd:ee:ff` text in either case, or
/// from a packet's bytes; always written in lowercase, colon-separated: the one form the
/// store keeps and boot requests are matched by.
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    /// The six octets.
    public let octets: [UInt8]

    /// The address `text` spells, or nil when it is not six two-digit hex octets joined by colons.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard part.count == 2, part.allSatisfy(\.isHexDigit), let octet = UInt8(part, radix: 16) else { return nil }
            octets.append(octet)
        }
        self.octets = octets
    }

    /// The address in the first six of `bytes` (a DHCP packet's `chaddr`); nil when there are fewer.
    public init?(octets bytes: some Collection<UInt8>) {
        guard bytes.count >= 6 else { return nil }
        octets = Array(bytes.prefix(6))
    }

    /// `aa:bb:cc:dd:ee:ff`.
    public var description: String {
        octets.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
