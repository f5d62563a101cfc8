/// The headers of a PE/COFF image (an EFI application) that Authenticode and UKI assembly
/// need, parsed strictly: every offset is checked against the file before it is read.
public struct PEImage: Sendable, Equatable {
    /// One section header.
    public struct Section: Sendable, Equatable {
        public let name: String
        public let virtualSize: Int
        public let virtualAddress: Int
        public let rawSize: Int
        public let rawOffset: Int

        /// The stored bytes that are the section's contents: `VirtualSize` of them, without
        /// the padding to the file alignment (all of the raw data when `VirtualSize` is 0).
        public var storedContents: Range<Int> {
            rawOffset..<(rawOffset + (virtualSize > 0 ? min(virtualSize, rawSize) : rawSize))
        }
    }

    /// Why bytes are not a PE image.
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case truncated(String)
        case invalid(String)

        public var description: String {
            switch self {
            case .truncated(let what): "not a PE image: truncated at the \(what)"
            case .invalid(let what): "not a PE image: \(what)"
            }
        }
    }

    /// Offset of the optional header's CheckSum field.
    public let checksumOffset: Int
    /// Offset of the certificate table's data-directory entry (8 bytes), if the image has one.
    public let certificateDirectoryOffset: Int?
    /// The certificate table itself (offset, size); (0, 0) when the image is unsigned.
    public let certificateTable: (offset: Int, size: Int)
    public let sizeOfHeaders: Int
    public let imageBase: UInt64
    public let sectionAlignment: Int
    public let sections: [Section]

    public static func == (lhs: PEImage, rhs: PEImage) -> Bool {
        lhs.checksumOffset == rhs.checksumOffset && lhs.certificateDirectoryOffset == rhs.certificateDirectoryOffset
            && lhs.certificateTable == rhs.certificateTable && lhs.sizeOfHeaders == rhs.sizeOfHeaders
            && lhs.imageBase == rhs.imageBase
            && lhs.sectionAlignment == rhs.sectionAlignment && lhs.sections == rhs.sections
    }

    /// Parses the headers of `bytes`, a whole file.
    public init(_ bytes: [UInt8]) throws(ParseError) {
        try self.init(headers: bytes, fileSize: bytes.count)
    }

    /// Parses headers from the start of a file of `fileSize` bytes: `bytes` needs to hold
    /// only the headers (SizeOfHeaders), not the sections.
    public init(headers bytes: [UInt8], fileSize: Int) throws(ParseError) {
        let reader = Reader(bytes: bytes)
        guard try reader.u16(0, "DOS header") == 0x5A4D else { throw .invalid("no MZ signature") }
        let pe = Int(try reader.u32(0x3C, "DOS header"))
        guard try reader.u32(pe, "PE signature") == 0x0000_4550 else { throw .invalid("no PE signature") }
        let sectionCount = Int(try reader.u16(pe + 6, "COFF header"))
        let optionalSize = Int(try reader.u16(pe + 20, "COFF header"))
        let optional = pe + 24
        let magic = try reader.u16(optional, "optional header")
        guard magic == 0x10B || magic == 0x20B else { throw .invalid("optional header magic \(magic)") }
        let plus = magic == 0x20B
        imageBase =
            plus
            ? try reader.u64(optional + 24, "optional header")
            : UInt64(try reader.u32(optional + 28, "optional header"))
        sectionAlignment = Int(try reader.u32(optional + 32, "optional header"))
        sizeOfHeaders = Int(try reader.u32(optional + 60, "optional header"))
        checksumOffset = optional + 64
        let directoryCount = Int(try reader.u32(optional + (plus ? 108 : 92), "optional header"))
        let directories = optional + (plus ? 112 : 96)
        guard directories + directoryCount * 8 <= optional + optionalSize else {
            throw .invalid("data directories overrun the optional header")
        }
        if directoryCount > 4 {
            let entry = directories + 4 * 8
            certificateDirectoryOffset = entry
            certificateTable = (
                Int(try reader.u32(entry, "certificate directory")),
                Int(try reader.u32(entry + 4, "certificate directory"))
            )
            guard certificateTable.size == 0 || certificateTable.offset + certificateTable.size <= fileSize else {
                throw .truncated("certificate table")
            }
        } else {
            certificateDirectoryOffset = nil
            certificateTable = (0, 0)
        }
        let table = optional + optionalSize
        guard sizeOfHeaders >= table + sectionCount * 40, sizeOfHeaders <= bytes.count else {
            throw .invalid("SizeOfHeaders \(sizeOfHeaders) does not hold the headers")
        }
        var sections: [Section] = []
        for index in 0..<sectionCount {
            let header = table + index * 40
            let nameBytes = bytes[header..<header + 8].prefix { $0 != 0 }
            let section = Section(
                name: String(decoding: nameBytes, as: UTF8.self),
                virtualSize: Int(try reader.u32(header + 8, "section table")),
                virtualAddress: Int(try reader.u32(header + 12, "section table")),
                rawSize: Int(try reader.u32(header + 16, "section table")),
                rawOffset: Int(try reader.u32(header + 20, "section table")))
            guard section.rawSize == 0 || section.rawOffset + section.rawSize <= fileSize else {
                throw .truncated("section \(section.name)")
            }
            sections.append(section)
        }
        self.sections = sections
    }

    /// The section named `name`, if present.
    public func section(_ name: String) -> Section? { sections.first { $0.name == name } }

    /// Little-endian reads that fail instead of trapping past the end.
    private struct Reader {
        let bytes: [UInt8]

        func u16(_ offset: Int, _ what: String) throws(ParseError) -> UInt16 { UInt16(try value(offset, 2, what)) }
        func u32(_ offset: Int, _ what: String) throws(ParseError) -> UInt32 { UInt32(try value(offset, 4, what)) }
        func u64(_ offset: Int, _ what: String) throws(ParseError) -> UInt64 { try value(offset, 8, what) }

        private func value(_ offset: Int, _ size: Int, _ what: String) throws(ParseError) -> UInt64 {
            guard offset >= 0, offset + size <= bytes.count else { throw .truncated(what) }
            return (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
        }
    }
}
