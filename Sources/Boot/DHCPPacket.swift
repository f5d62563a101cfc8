import Octets

/// A DHCP message (RFC 2131) as ProxyDHCP needs it, parsed strictly and within bounds:
/// the fixed BOOTP header, the magic cookie, and options from the options field and, when
/// option 52 says so, from the `file` and `sname` fields (RFC 2132 §9.3); an option that
/// appears more than once is concatenated (RFC 3396).
public struct DHCPPacket: Sendable, Equatable {
    /// 1 for a client's request, 2 for a server's reply.
    public var operation: UInt8
    public var hardwareType: UInt8
    public var hardwareLength: UInt8
    public var hops: UInt8 = 0
    public var transactionID: UInt32
    public var seconds: UInt16 = 0
    public var flags: UInt16
    public var clientAddress: [UInt8] = [0, 0, 0, 0]
    public var yourAddress: [UInt8] = [0, 0, 0, 0]
    public var serverAddress: [UInt8] = [0, 0, 0, 0]
    public var relayAddress: [UInt8]
    /// 16 bytes; the first `hardwareLength` are the client's hardware address.
    public var clientHardwareAddress: [UInt8]
    /// The boot file name (the `file` field), when it holds one.
    public var bootFile: String = ""
    /// Options by code, in the order first seen.
    public var options: [(code: UInt8, value: [UInt8])] = []

    public static func == (lhs: DHCPPacket, rhs: DHCPPacket) -> Bool {
        lhs.operation == rhs.operation && lhs.transactionID == rhs.transactionID && lhs.flags == rhs.flags
            && lhs.clientAddress == rhs.clientAddress && lhs.yourAddress == rhs.yourAddress
            && lhs.serverAddress == rhs.serverAddress
            && lhs.relayAddress == rhs.relayAddress && lhs.clientHardwareAddress == rhs.clientHardwareAddress
            && lhs.bootFile == rhs.bootFile
            && lhs.options.map(\.code) == rhs.options.map(\.code)
            && lhs.options.map(\.value) == rhs.options.map(\.value)
    }

    static let headerSize = 236
    static let cookie: [UInt8] = [99, 130, 83, 99]
    /// The largest message accepted (an Ethernet frame's payload).
    public static let maxSize = 1_500

    /// The value of option `code`.
    public func option(_ code: UInt8) -> [UInt8]? { options.first { $0.code == code }?.value }

    public init(
        operation: UInt8, transactionID: UInt32, flags: UInt16, relayAddress: [UInt8], clientHardwareAddress: [UInt8],
        hardwareLength: UInt8 = 6
    ) {
        self.operation = operation
        hardwareType = 1
        self.hardwareLength = hardwareLength
        self.transactionID = transactionID
        self.flags = flags
        self.relayAddress = relayAddress
        self.clientHardwareAddress = clientHardwareAddress
    }

    /// Parses `bytes`, refusing anything malformed.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(DHCPPacketError) -> DHCPPacket {
        guard bytes.count >= headerSize + 4, bytes.count <= maxSize else {
            throw .init("\(bytes.count) bytes is not a DHCP message's size")
        }
        let b = Array(bytes)
        guard Array(b[headerSize..<headerSize + 4]) == cookie else { throw .init("no DHCP magic cookie") }
        guard b[2] >= 1, b[2] <= 16 else { throw .init("hardware address length \(b[2])") }
        var packet = DHCPPacket(
            operation: b[0], transactionID: BigEndian.read(UInt32.self, b[...], at: 4),
            flags: BigEndian.read(UInt16.self, b[...], at: 10), relayAddress: Array(b[24..<28]),
            clientHardwareAddress: Array(b[28..<44]), hardwareLength: b[2])
        packet.hardwareType = b[1]
        packet.hops = b[3]
        packet.seconds = BigEndian.read(UInt16.self, b[...], at: 8)
        packet.clientAddress = Array(b[12..<16])
        packet.yourAddress = Array(b[16..<20])
        packet.serverAddress = Array(b[20..<24])
        var options = OptionAccumulator()
        try options.read(b[(headerSize + 4)...], requireEnd: true)
        let overload = options.value(52)
        if let overload {
            guard overload.count == 1, (1...3).contains(overload[0]) else {
                throw .init("option 52 (overload) is malformed")
            }
            if overload[0] & 1 != 0 { try options.read(b[108..<236], requireEnd: false) }
            if overload[0] & 2 != 0 { try options.read(b[44..<108], requireEnd: false) }
        }
        if overload.map({ $0[0] & 1 == 0 }) ?? true { packet.bootFile = try text(b[108..<236]) }
        packet.options = options.options
        guard let type = packet.option(53), type.count == 1 else {
            throw .init("option 53 (message type) is missing or malformed")
        }
        return packet
    }

    /// The message's bytes (at least 300, as BOOTP relays expect).
    public var bytes: [UInt8] {
        var out: [UInt8] = [operation, hardwareType, hardwareLength, hops]
        out += BigEndian.bytes(transactionID) + BigEndian.bytes(seconds) + BigEndian.bytes(flags)
        out += clientAddress + yourAddress + serverAddress + relayAddress
        out +=
            Self.padded(clientHardwareAddress, 16) + [UInt8](repeating: 0, count: 64)
            + Self.padded(Array(bootFile.utf8), 128)
        out += Self.cookie
        for (code, value) in options {
            var rest = value[...]
            repeat {
                let chunk = rest.prefix(255)
                out += [code, UInt8(chunk.count)] + chunk
                rest = rest.dropFirst(chunk.count)
            } while !rest.isEmpty
        }
        out.append(255)
        if out.count < 300 { out += [UInt8](repeating: 0, count: 300 - out.count) }
        return out
    }

    private static func padded(_ bytes: [UInt8], _ size: Int) -> [UInt8] {
        Array(bytes.prefix(size)) + [UInt8](repeating: 0, count: max(0, size - bytes.count))
    }

    private static func text(_ field: ArraySlice<UInt8>) throws(DHCPPacketError) -> String {
        let content = field.prefix { $0 != 0 }
        guard content.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else {
            throw .init("the file field is not printable ASCII")
        }
        return String(decoding: content, as: UTF8.self)
    }

    /// Options gathered from every field that holds them, bounded. The options field
    /// (`requireEnd`) must close with the end option; an overloaded `file` or `sname` field
    /// may not, and may not carry option 52 itself.
    private struct OptionAccumulator {
        var options: [(code: UInt8, value: [UInt8])] = []
        private var total = 0
        static let maxOptionBytes = 1_200

        func value(_ code: UInt8) -> [UInt8]? { options.first { $0.code == code }?.value }

        mutating func read(_ field: ArraySlice<UInt8>, requireEnd: Bool) throws(DHCPPacketError) {
            var index = field.startIndex
            while index < field.endIndex {
                let code = field[index]
                if code == 0 { index += 1; continue }
                if code == 255 { return }
                guard index + 1 < field.endIndex else { throw .init("option \(code) has no length") }
                guard code != 52 || requireEnd else { throw .init("option 52 (overload) inside an overloaded field") }
                let length = Int(field[index + 1])
                guard index + 2 + length <= field.endIndex else { throw .init("option \(code) runs past the message") }
                total += length
                guard total <= Self.maxOptionBytes else {
                    throw .init("more than \(Self.maxOptionBytes) bytes of options")
                }
                let value = Array(field[(index + 2)..<(index + 2 + length)])
                if let existing = options.firstIndex(where: { $0.code == code }) {
                    options[existing].value += value
                } else {
                    options.append((code, value))
                }
                index += 2 + length
            }
            if requireEnd { throw .init("the options have no end option") }
        }
    }
}

/// DHCP message types (option 53).
public enum DHCPMessageType: UInt8, Sendable {
    case discover = 1, offer = 2, request = 3, decline = 4, acknowledgement = 5, negativeAcknowledgement = 6, release =
        7, inform = 8
}

/// Why bytes are not a DHCP message.
public struct DHCPPacketError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
