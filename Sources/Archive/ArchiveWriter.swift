import CArchive

/// Writes an archive entry by entry, streaming to a file: memory stays constant whatever
/// the archive's size. Owns its libarchive handle; call ``finish()`` to complete the file.
public struct ArchiveWriter: ~Copyable {
    /// Archive formats Warden writes.
    public enum Format: Sendable {
        /// POSIX (pax restricted) tar, gzip-compressed: export bundles.
        case tarGzip
        /// SVR4 "newc" cpio, gzip-compressed at gzip's fastest level and without a time in
        /// its header: initramfs overlays, which Linux unpacks in order after the initrd they
        /// follow. Every kernel that reads an initramfs reads gzip; the fastest level
        /// compresses a Swift binary to within about a tenth of the best level's size, in a
        /// third of the time; and the same files make the same bytes, so the same image.
        case cpioNewcGzip
    }

    private let handle: OpaquePointer
    private var finished = false

    /// Opens `path` for writing (replacing it) in `format`.
    public init(path: String, format: Format) throws(ArchiveError) {
        guard let handle = archive_write_new() else {
            throw ArchiveError(operation: "allocate a writer", message: "out of memory")
        }
        let configured: Bool
        switch format {
        case .tarGzip:
            configured =
                archive_write_set_format_pax_restricted(handle) == ARCHIVE_OK
                && archive_write_add_filter_gzip(handle) == ARCHIVE_OK
        case .cpioNewcGzip:
            configured =
                archive_write_set_format_cpio_newc(handle) == ARCHIVE_OK
                && archive_write_add_filter_gzip(handle) == ARCHIVE_OK
                && archive_write_set_filter_option(handle, "gzip", "compression-level", "1") == ARCHIVE_OK
                && archive_write_set_filter_option(handle, "gzip", "timestamp", nil) == ARCHIVE_OK
        }
        guard configured, archive_write_set_bytes_in_last_block(handle, 1) == ARCHIVE_OK else {
            let error = Self.error(handle, "set up the \(format) format")
            archive_write_free(handle)
            throw error
        }
        guard archive_write_open_filename(handle, path) == ARCHIVE_OK else {
            let error = Self.error(handle, "open \(path)")
            archive_write_free(handle)
            throw error
        }
        self.handle = handle
    }

    deinit {
        if !finished { archive_write_close(handle) }
        archive_write_free(handle)
    }

    /// Adds a regular file with `contents`.
    public mutating func addFile(_ path: String, contents: [UInt8], mode: UInt32 = 0o644, modified: Int = 0)
        throws(ArchiveError)
    {
        try writeEntry(path, type: WARDEN_AE_IFREG, mode: mode, size: contents.count, modified: modified) { entry in
            archive_entry_set_size(entry, Int64(contents.count))
        }
        guard contents.isEmpty || archive_write_data(handle, contents, contents.count) == contents.count else {
            throw Self.error(handle, "write \(path)")
        }
    }

    /// Adds a regular file whose `size` bytes come from `chunks` (called until it returns
    /// an empty array): a large file streams through constant memory.
    public mutating func addFile(
        _ path: String, size: Int, mode: UInt32 = 0o644, modified: Int = 0, chunks: () throws -> [UInt8]
    ) throws {
        try writeEntry(path, type: WARDEN_AE_IFREG, mode: mode, size: size, modified: modified) { _ in }
        var written = 0
        while true {
            let chunk = try chunks()
            if chunk.isEmpty { break }
            guard written + chunk.count <= size, archive_write_data(handle, chunk, chunk.count) == chunk.count else {
                throw Self.error(handle, "write \(path)")
            }
            written += chunk.count
        }
        guard written == size else {
            throw ArchiveError(operation: "write \(path)", message: "\(written) bytes instead of \(size)")
        }
    }

    /// Adds a directory.
    public mutating func addDirectory(_ path: String, mode: UInt32 = 0o755, modified: Int = 0) throws(ArchiveError) {
        try writeEntry(path, type: WARDEN_AE_IFDIR, mode: mode, size: 0, modified: modified) { _ in }
    }

    /// Adds a symbolic link to `target`.
    public mutating func addSymlink(_ path: String, target: String, modified: Int = 0) throws(ArchiveError) {
        try writeEntry(path, type: WARDEN_AE_IFLNK, mode: 0o777, size: 0, modified: modified) { entry in
            archive_entry_set_symlink(entry, target)
        }
    }

    /// Writes the trailer and closes the file.
    public mutating func finish() throws(ArchiveError) {
        finished = true
        guard archive_write_close(handle) == ARCHIVE_OK else { throw Self.error(handle, "close the archive") }
    }

    private func writeEntry(
        _ path: String, type: UInt32, mode: UInt32, size: Int, modified: Int, configure: (OpaquePointer) -> Void
    ) throws(ArchiveError) {
        guard let entry = archive_entry_new() else {
            throw ArchiveError(operation: "add \(path)", message: "out of memory")
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, path)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(mode))
        archive_entry_set_mtime(entry, modified, 0)
        archive_entry_set_size(entry, Int64(size))
        configure(entry)
        guard archive_write_header(handle, entry) == ARCHIVE_OK else { throw Self.error(handle, "add \(path)") }
    }

    private static func error(_ handle: OpaquePointer, _ operation: String) -> ArchiveError {
        let message = archive_error_string(handle).map { String(cString: $0) } ?? "unknown error"
        return ArchiveError(operation: operation, message: message)
    }
}
