/// Writes the bytes ``KeptJSON`` writes (keys sorted, slashes unescaped) for a value whose
/// shape is spelled out by hand: the judgement's inputs are kept with every attestation, and
/// `JSONEncoder`'s generic path cost 1.6 % of the server's CPU per attestation there. A test
/// holds each hand-written shape to the encoder's bytes.
struct KeptJSONWriter {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    /// Whether each object begun and not yet ended has a member, innermost last.
    private var objectsWithMembers: [Bool] = []

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        objectsWithMembers.append(false)
    }

    /// Begins the member `key` of the innermost object: its value is written next. Members
    /// come in sorted key order.
    mutating func key(_ key: String) {
        if objectsWithMembers[objectsWithMembers.count - 1] { bytes.append(UInt8(ascii: ",")) }
        objectsWithMembers[objectsWithMembers.count - 1] = true
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func endObject() {
        objectsWithMembers.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x00..<0x20:
                bytes += Array("\\u00".utf8) + [Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ value: some BinaryInteger) { bytes += Array(String(value).utf8) }

    mutating func bool(_ value: Bool) { bytes += Array((value ? "true" : "false").utf8) }

    /// JSON already written as ``KeptJSON`` writes it (a nested value it encoded).
    mutating func json(_ written: [UInt8]) { bytes += written }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
