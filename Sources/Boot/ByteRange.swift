/// One byte range of a `Range: bytes=…` request header (RFC 9110 §14.1.2), resolved against
/// a file's size. Only a single range is honoured: a list of ranges is answered with the
/// whole file, as the RFC allows, so a multipart body is never built.
public struct ByteRange: Sendable, Equatable {
    /// The first byte sent.
    public let first: Int
    /// The last byte sent (inclusive).
    public let last: Int

    public var count: Int { last - first + 1 }

    public init(first: Int, last: Int) {
        self.first = first
        self.last = last
    }

    /// What a `Range` header asks of a file of `size` bytes.
    public enum Request: Sendable, Equatable {
        /// No usable range: send the whole file (no header, a list, another unit, bad syntax).
        case whole
        case partial(ByteRange)
        /// A valid range that lies past the end of the file: 416.
        case unsatisfiable
    }

    /// Resolves `header` against a file of `size` bytes.
    public static func resolve(_ header: String?, size: Int) -> Request {
        guard let header, header.hasPrefix("bytes=") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingSpaces
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let start = spec[..<dash].trimmingSpaces
        let end = spec[spec.index(after: dash)...].trimmingSpaces
        if start.isEmpty {
            // A suffix: the last N bytes.
            guard let suffix = Self.number(end) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .partial(ByteRange(first: max(0, size - suffix), last: size - 1))
        }
        guard let first = Self.number(start) else { return .whole }
        var last = size - 1
        if !end.isEmpty {
            guard let requested = Self.number(end), requested >= first else { return .whole }
            last = min(requested, size - 1)
        }
        guard first < size else { return .unsatisfiable }
        return .partial(ByteRange(first: first, last: last))
    }

    /// A decimal of at most 18 digits (so it cannot overflow).
    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 18,
            text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return Int(text)
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
