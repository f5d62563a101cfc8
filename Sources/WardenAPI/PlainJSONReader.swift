/// A request with a plain JSON form (``PlainJSONReader``) that is read without `JSONDecoder`.
public protocol PlainJSONDecodable: Decodable {
    /// The value in `json` when it is plain; nil for any other body, which `JSONDecoder` then
    /// reads, or refuses, as it reads any body. For every body this reads, `JSONDecoder`
    /// reads the same value.
    init?(plainJSON json: UnsafeRawBufferPointer)
}

/// A reader of the plain JSON agents send, for the requests read on every attestation: an
/// object of known members, texts of ASCII other than control characters (base64, mostly)
/// whose only escape is `\/`, integers without fraction or exponent. Anything else it does not read, and says so
/// with nil: the caller then gives the body to `JSONDecoder`, the reference reading, which
/// reads whatever this reads to the same values (tests and the agent-body fuzz target hold
/// it to that). It never reads past its buffer and trusts no length.
struct PlainJSONReader {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    /// Whether only whitespace is left.
    var isAtEnd: Bool {
        mutating get {
            skipWhitespace()
            return index == bytes.count
        }
    }

    /// Reads one object, the whole of what is left, handing each member's name to `member`,
    /// which reads its value; false when the bytes are not one object or `member` refused one.
    mutating func object(_ member: (String, inout PlainJSONReader) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        repeat {
            guard let name = text(), take(UInt8(ascii: ":")), member(name, &self) else { return false }
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) && isAtEnd
    }

    /// Steps over `byte` after any whitespace; false (and nothing read) when it is not next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Steps over `word` (`true`, `false`, `null`) after any whitespace; false when it is not next.
    mutating func take(word: String) -> Bool {
        skipWhitespace()
        let word = word.utf8
        guard bytes.count - index >= word.count, bytes[index..<index + word.count].elementsEqual(word) else {
            return false
        }
        index += word.count
        return true
    }

    /// The next value as a plain text; nil when it is not one.
    mutating func text() -> String? {
        guard take(Self.quote) else { return nil }
        let start = index
        var escapedSlashes = false
        while true {
            index = Self.firstSpecial(in: bytes, from: index)
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case Self.quote:
                let text = bytes[start..<index]
                index += 1
                return escapedSlashes
                    ? String(decoding: Self.unescapingSlashes(text), as: UTF8.self)
                    : String(decoding: text, as: UTF8.self)
            case Self.backslash:
                guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") else { return nil }
                escapedSlashes = true
                index += 2
            default:
                return nil  // a control character or a byte beyond ASCII
            }
        }
    }

    /// The next value as an integer: an optional minus sign and digits, no leading zero, no
    /// fraction or exponent, within `Int64`; nil for any other value.
    mutating func integer() -> Int64? {
        skipWhitespace()
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let start = index
        var magnitude: UInt64 = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (times10, overflowed) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carried) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflowed, !carried else { return nil }
            magnitude = sum
            index += 1
        }
        // JSON has no leading zeros: "01" is not a number.
        guard index > start, index - start == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The index of the first quote, backslash, control character or byte beyond ASCII at
    /// or after `start` (the buffer's end when there is none), eight bytes at a time: a
    /// request's texts are tens of kilobytes of base64.
    private static func firstSpecial(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while bytes.count - index >= 8 {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            // A byte of `x` is zero exactly where `(x - 0x01…) & ~x & 0x80…` sets its high bit.
            func zeroBytes(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
            let special =
                zeroBytes(word ^ (ones &* UInt64(quote))) | zeroBytes(word ^ (ones &* UInt64(backslash)))
                | ((word &- ones &* 0x20) & ~word & highs) | (word & highs)
            if special != 0 { break }
            index += 8
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote || byte == backslash || byte < 0x20 || byte >= 0x80 { return index }
            index += 1
        }
        return index
    }

    /// `text` with each `\/` as `/` (the only escape ``text()`` reads).
    private static func unescapingSlashes(_ text: Slice<UnsafeRawBufferPointer>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var escaped = false
        for byte in text {
            if byte == backslash && !escaped {
                escaped = true
                continue
            }
            escaped = false
            bytes.append(byte)
        }
        return bytes
    }
}
