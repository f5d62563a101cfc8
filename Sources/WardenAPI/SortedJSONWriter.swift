/// Writes JSON as `JSONEncoder` does with `[.sortedKeys, .withoutEscapingSlashes]`, for a
/// value whose shape is spelled out by hand (``SortedJSONWritable``). What is written once
/// per attestation (the judgement's inputs, the answers to the agent) took `JSONEncoder`'s
/// generic path 3.5 % of the server's CPU per attestation; tests hold each hand-written shape
/// to the encoder's bytes.
public struct SortedJSONWriter: Sendable {
    /// What has been written.
    public private(set) var bytes: [UInt8] = []
    /// Whether each object begun and not yet ended has a member, innermost last.
    private var objectsWithMembers: [Bool] = []

    /// An empty writer.
    public init() { bytes.reserveCapacity(256) }

    /// Begins an object: its members follow (``key(_:)`` then a value, each), then ``endObject()``.
    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        objectsWithMembers.append(false)
    }

    /// Begins the member `key` of the innermost object: its value is written next. The
    /// caller writes members in sorted key order.
    public mutating func key(_ key: String) {
        if objectsWithMembers[objectsWithMembers.count - 1] { bytes.append(UInt8(ascii: ",")) }
        objectsWithMembers[objectsWithMembers.count - 1] = true
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Ends the innermost object.
    public mutating func endObject() {
        objectsWithMembers.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// A string, escaped as `JSONEncoder` escapes it (slashes as they are).
    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            // Runs that need no escape (base64 and PEM are nearly all of what is written) are
            // copied whole.
            var run = 0
            for (index, byte) in utf8.enumerated() {
                guard let escape = Self.escape(byte) else { continue }
                bytes.append(contentsOf: utf8[run..<index])
                bytes.append(contentsOf: escape)
                run = index + 1
            }
            bytes.append(contentsOf: utf8[run...])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// How `JSONEncoder` writes `byte` inside a string, when not as it is.
    private static func escape(_ byte: UInt8) -> [UInt8]? {
        switch byte {
        case UInt8(ascii: "\""): Array(#"\""#.utf8)
        case UInt8(ascii: "\\"): Array(#"\\"#.utf8)
        case 0x08: Array(#"\b"#.utf8)
        case 0x0C: Array(#"\f"#.utf8)
        case UInt8(ascii: "\n"): Array(#"\n"#.utf8)
        case UInt8(ascii: "\r"): Array(#"\r"#.utf8)
        case UInt8(ascii: "\t"): Array(#"\t"#.utf8)
        case 0x00..<0x20: Array(#"\u00"#.utf8) + [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]]
        default: nil
        }
    }

    /// An integer, in decimal.
    public mutating func integer(_ value: some BinaryInteger) { bytes += Array(String(value).utf8) }

    /// `true` or `false`.
    public mutating func bool(_ value: Bool) { bytes += Array((value ? "true" : "false").utf8) }

    /// JSON already written in this form (a nested value `JSONEncoder` encoded).
    public mutating func json(_ written: [UInt8]) { bytes += written }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// A value written as JSON by hand, byte for byte as `JSONEncoder` writes it with
/// `[.sortedKeys, .withoutEscapingSlashes]` (a test holds each to that).
public protocol SortedJSONWritable: Encodable {
    /// Writes the value, its members in sorted key order.
    func write(to json: inout SortedJSONWriter)
}

extension SortedJSONWritable {
    /// The value as JSON.
    public var sortedJSON: [UInt8] {
        var json = SortedJSONWriter()
        write(to: &json)
        return json.bytes
    }
}
