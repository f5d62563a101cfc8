import CArchive

/// Reads a gzip-compressed tar archive entry by entry, streaming from a file: memory stays
/// constant whatever its size. Owns its libarchive handle.
public struct ArchiveReader: ~Copyable {
    /// One entry's header.
    public struct Entry: Sendable, Equatable {
        /// The path as stored (not normalised: callers judge it).
        public let path: String
        /// Size in bytes of a regular file's data.
        public let size: Int64
        /// Whether the entry is a regular file (not a directory, link or device).
        public let isRegularFile: Bool
        /// Whether the entry is a directory.
        public let isDirectory: Bool
    }

    private let handle: OpaquePointer
    private let path: String

    /// Opens `path`, a tar archive compressed with gzip.
    public init(path: String) throws(ArchiveError) {
        guard let handle = archive_read_new() else {
            throw ArchiveError(operation: "allocate a reader", message: "out of memory")
        }
        guard archive_read_support_filter_gzip(handle) == ARCHIVE_OK,
            archive_read_support_format_tar(handle) == ARCHIVE_OK,
            archive_read_open_filename(handle, path, 64 * 1024) == ARCHIVE_OK
        else {
            let error = Self.error(handle, "open \(path)")
            archive_read_free(handle)
            throw error
        }
        self.handle = handle
        self.path = path
    }

    deinit { archive_read_free(handle) }

    /// The next entry's header, or nil at the end; the previous entry's unread data is skipped.
    public mutating func next() throws(ArchiveError) -> Entry? {
        var entry: OpaquePointer?
        switch archive_read_next_header(handle, &entry) {
        case ARCHIVE_OK, ARCHIVE_WARN:
            guard let entry, let name = archive_entry_pathname(entry) else {
                throw ArchiveError(operation: "read \(path)", message: "an entry has no path")
            }
            let type = archive_entry_filetype(entry)
            return Entry(
                path: String(cString: name), size: archive_entry_size(entry),
                isRegularFile: UInt32(type) == WARDEN_AE_IFREG, isDirectory: UInt32(type) == WARDEN_AE_IFDIR)
        case ARCHIVE_EOF: return nil
        default: throw Self.error(handle, "read \(path)")
        }
    }

    /// Reads the current entry's next bytes into the start of `buffer`; returns how many
    /// (0 at the entry's end).
    public mutating func read(into buffer: inout [UInt8]) throws(ArchiveError) -> Int {
        let count = buffer.withUnsafeMutableBytes { archive_read_data(handle, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw Self.error(handle, "read \(path)") }
        return count
    }

    /// Reads the whole current entry when it is at most `limit` bytes.
    public mutating func readAll(limit: Int) throws(ArchiveError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try read(into: &chunk)
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else {
                throw ArchiveError(operation: "read \(path)", message: "an entry is larger than \(limit) bytes")
            }
            bytes += chunk[..<count]
        }
    }

    private static func error(_ handle: OpaquePointer, _ operation: String) -> ArchiveError {
        ArchiveError(
            operation: operation, message: archive_error_string(handle).map { String(cString: $0) } ?? "unknown error")
    }
}
