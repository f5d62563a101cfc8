import Octets

/// One TFTP packet (RFC 1350, with RFC 2347 option acknowledgements), parsed strictly:
/// every string NUL-terminated and printable ASCII, no trailing bytes, bounded counts.
public enum TFTPPacket: Sendable, Equatable {
    /// A read request: file name, transfer mode and options (names lowercased, in order).
    case readRequest(file: String, mode: String, options: [TFTPOption])
    /// A write request: always refused, since the server is read-only.
    case writeRequest(file: String)
    case data(block: UInt16, payload: ArraySlice<UInt8>)
    case acknowledgement(block: UInt16)
    case error(TFTPErrorCode, message: String)
    case optionAcknowledgement([TFTPOption])

    /// The largest request accepted (RFC 1350 keeps requests within one 512-byte packet;
    /// option-laden requests of real clients stay far below this).
    public static let maxRequestSize = 1_024
    /// At most this many options in one request.
    public static let maxOptions = 16

    /// Parses `bytes`, refusing anything malformed.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(TFTPPacketError) -> TFTPPacket {
        guard bytes.count >= 4 else { throw .init("\(bytes.count) bytes is shorter than any packet") }
        let opcode = BigEndian.read(UInt16.self, bytes)
        let body = bytes.dropFirst(2)
        let number = BigEndian.read(UInt16.self, body)
        switch opcode {
        case 1, 2:
            guard bytes.count <= maxRequestSize else {
                throw .init("a request of \(bytes.count) bytes is longer than \(maxRequestSize)")
            }
            var strings = try nulTerminatedStrings(body)
            guard strings.count >= 2, strings.count % 2 == 0 else {
                throw .init("a request needs a file name, a mode and option pairs")
            }
            let file = strings.removeFirst(), mode = strings.removeFirst().lowercased()
            guard !file.isEmpty else { throw .init("the file name is empty") }
            guard mode == "octet" || mode == "netascii" else { throw .init("mode \(mode) is not octet or netascii") }
            if opcode == 2 { return .writeRequest(file: file) }
            return .readRequest(file: file, mode: mode, options: try options(strings))
        case 3: return .data(block: number, payload: body.dropFirst(2))
        case 4:
            guard bytes.count == 4 else { throw .init("an acknowledgement is 4 bytes, not \(bytes.count)") }
            return .acknowledgement(block: number)
        case 5:
            let strings = try nulTerminatedStrings(body.dropFirst(2))
            guard strings.count == 1 else { throw .init("an error carries one message") }
            return .error(TFTPErrorCode(rawValue: number) ?? .undefined, message: strings[0])
        case 6:
            guard bytes.count <= maxRequestSize else { throw .init("an option acknowledgement is too long") }
            let strings = try nulTerminatedStrings(body)
            guard strings.count % 2 == 0 else { throw .init("options come in pairs") }
            return .optionAcknowledgement(try options(strings))
        default: throw .init("unknown opcode \(opcode)")
        }
    }

    /// The packet's bytes.
    public var bytes: [UInt8] {
        switch self {
        case .readRequest(let file, let mode, let options): return [0, 1] + request(file, mode, options)
        case .writeRequest(let file): return [0, 2] + request(file, "octet", [])
        case .data(let block, let payload): return [0, 3] + BigEndian.bytes(block) + payload
        case .acknowledgement(let block): return [0, 4] + BigEndian.bytes(block)
        case .error(let code, let message):
            let text: [UInt8] = Array(message.utf8) + [0]
            return [0, 5] + BigEndian.bytes(code.rawValue) + text
        case .optionAcknowledgement(let options):
            return [0, 6] + Self.strings(options.flatMap { [$0.name, $0.value] })
        }
    }

    private func request(_ file: String, _ mode: String, _ options: [TFTPOption]) -> [UInt8] {
        Self.strings([file, mode] + options.flatMap { [$0.name, $0.value] })
    }

    private static func strings(_ strings: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for string in strings { bytes += Array(string.utf8) + [0] }
        return bytes
    }

    private static func nulTerminatedStrings(_ bytes: ArraySlice<UInt8>) throws(TFTPPacketError) -> [String] {
        guard bytes.last == 0 else { throw .init("a string is not NUL-terminated") }
        var strings: [String] = []
        for field in bytes.dropLast().split(separator: 0, omittingEmptySubsequences: false) {
            guard field.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else {
                throw .init("a string holds a byte that is not printable ASCII")
            }
            strings.append(String(decoding: field, as: UTF8.self))
        }
        return strings
    }

    private static func options(_ strings: [String]) throws(TFTPPacketError) -> [TFTPOption] {
        guard strings.count / 2 <= maxOptions else { throw .init("more than \(maxOptions) options") }
        var options: [TFTPOption] = []
        for index in stride(from: 0, to: strings.count, by: 2) {
            let name = strings[index].lowercased()
            guard !name.isEmpty, !options.contains(where: { $0.name == name }) else {
                throw .init("option \(name) is empty or repeated")
            }
            options.append(TFTPOption(name: name, value: strings[index + 1]))
        }
        return options
    }
}

/// One option of a request or acknowledgement.
public struct TFTPOption: Sendable, Equatable {
    public let name: String
    public let value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// TFTP error codes (RFC 1350, 2347).
public enum TFTPErrorCode: UInt16, Sendable {
    case undefined = 0
    case fileNotFound = 1
    case accessViolation = 2
    case illegalOperation = 4
    case unknownTransferID = 5
    case optionRefused = 8
}

/// Why bytes are not a TFTP packet.
public struct TFTPPacketError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
