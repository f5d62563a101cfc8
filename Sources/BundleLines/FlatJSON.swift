import WardenCrypto

/// One flat JSON object per line (`{"key": value, …}` with string, integer or null
/// values): the shape of exported records and checkpoints. Written and read by hand
/// because a million records must go through at more than 100,000 a second; the reader
/// is strict (no duplicate keys, nothing after the object) and never trusts a length.
/// Its own module, with nothing above WardenCrypto, so that its fuzz target builds in seconds.
package enum FlatJSON {
    /// A value of a flat object.
    package enum Value: Equatable {
        case string(String)
        case integer(Int64)
        case null
    }

    /// Why a line is not a flat JSON object.
    package struct SyntaxError: Error, Equatable, CustomStringConvertible {
        package let offset: Int
        package let reason: String
        package var description: String { "not a flat JSON object at byte \(offset): \(reason)" }
    }

    /// Appends `fields` as one object, in order, without a line break.
    package static func append(_ fields: KeyValuePairs<String, Value>, to out: inout [UInt8]) {
        appendObject(fields, to: &out)
    }

    /// Appends fields as read back (``Object/fields``) as one object, in order.
    package static func append(_ fields: [(key: String, value: Value)], to out: inout [UInt8]) {
        appendObject(fields, to: &out)
    }

    private static func appendObject(_ fields: some Sequence<(key: String, value: Value)>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            switch value {
            case .string(let string): appendString(string, to: &out)
            case .integer(let number): out.append(contentsOf: String(number).utf8)
            case .null: out.append(contentsOf: "null".utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `string` quoted, escaping what JSON requires; other UTF-8 passes unchanged.
    package static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8) + [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0f)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// An object's fields in the order read: few, so found by a linear search.
    package struct Object {
        package fileprivate(set) var fields: [(key: String, value: Value)] = []

        package subscript(key: String) -> Value? { fields.first { $0.key == key }?.value }

        package var count: Int { fields.count }
    }

    /// Parses one object.
    package static func decode(_ bytes: ArraySlice<UInt8>) throws(SyntaxError) -> Object {
        var reader = Reader(bytes: bytes)
        return try reader.object()
    }

    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var position: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            position = bytes.startIndex
        }

        mutating func object() throws(SyntaxError) -> Object {
            try expect(UInt8(ascii: "{"))
            var fields = Object()
            fields.fields.reserveCapacity(9)
            skipSpaces()
            if peek() == UInt8(ascii: "}") {
                position += 1
            } else {
                while true {
                    skipSpaces()
                    let key = try string()
                    skipSpaces()
                    try expect(UInt8(ascii: ":"))
                    skipSpaces()
                    guard fields[key] == nil else { throw fail("duplicate key \(key)") }
                    fields.fields.append((key, try value()))
                    skipSpaces()
                    if peek() == UInt8(ascii: ",") { position += 1; continue }
                    try expect(UInt8(ascii: "}"))
                    break
                }
            }
            skipSpaces()
            guard position == bytes.endIndex else { throw fail("trailing bytes") }
            return fields
        }

        private mutating func value() throws(SyntaxError) -> Value {
            guard let byte = peek() else { throw fail("expected a value") }
            switch byte {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "n"):
                guard bytes[position...].starts(with: Array("null".utf8)) else { throw fail("expected null") }
                position += 4
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try integer())
            default: throw fail("expected a string, an integer or null")
            }
        }

        private mutating func integer() throws(SyntaxError) -> Int64 {
            let negative = peek() == UInt8(ascii: "-")
            if negative { position += 1 }
            let start = position
            var magnitude: Int64 = 0
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { throw fail("integer out of range") }
                magnitude = sum
                position += 1
            }
            guard position > start, !(bytes[start] == UInt8(ascii: "0") && position - start > 1) else {
                throw fail("malformed integer")
            }
            return negative ? -magnitude : magnitude
        }

        private mutating func string() throws(SyntaxError) -> String {
            try expect(UInt8(ascii: "\""))
            let start = position
            var unescaped: [UInt8]?
            while true {
                guard let byte = peek() else { throw fail("unterminated string") }
                switch byte {
                case UInt8(ascii: "\""):
                    let text =
                        unescaped.map { String(validating: $0, as: UTF8.self) }
                        ?? String(validating: bytes[start..<position], as: UTF8.self)
                    position += 1
                    guard let text else { throw fail("invalid UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    if unescaped == nil { unescaped = Array(bytes[start..<position]) }
                    position += 1
                    unescaped?.append(contentsOf: String(try escape()).utf8)
                case 0..<0x20: throw fail("control character in a string")
                default:
                    unescaped?.append(byte)
                    position += 1
                }
            }
        }

        private mutating func escape() throws(SyntaxError) -> Unicode.Scalar {
            guard let byte = peek() else { throw fail("unterminated escape") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "u"):
                let high = try hex4()
                guard (0xD800..<0xDC00).contains(high) else {
                    guard !(0xDC00..<0xE000).contains(high), let scalar = Unicode.Scalar(high) else {
                        throw fail("lone surrogate")
                    }
                    return scalar
                }
                guard bytes[position...].starts(with: Array("\\u".utf8)) else { throw fail("lone surrogate") }
                position += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low),
                    let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                else {
                    throw fail("lone surrogate")
                }
                return scalar
            default: throw fail("unknown escape")
            }
        }

        private mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard bytes.endIndex - position >= 4 else { throw fail("malformed \\u escape") }
            var value: UInt32 = 0
            for byte in bytes[position..<position + 4] {
                guard let digit = Hex.value(of: byte) else { throw fail("malformed \\u escape") }
                value = value << 4 | UInt32(digit)
            }
            position += 4
            return value
        }

        private func peek() -> UInt8? { position < bytes.endIndex ? bytes[position] : nil }

        private mutating func expect(_ byte: UInt8) throws(SyntaxError) {
            guard peek() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
            position += 1
        }

        private mutating func skipSpaces() {
            while let byte = peek(), byte == 0x20 || byte == 0x09 { position += 1 }
        }

        private func fail(_ reason: String) -> SyntaxError {
            SyntaxError(offset: position - bytes.startIndex, reason: reason)
        }
    }
}
