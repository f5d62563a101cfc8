import Archive

/// The lines of one file of a bundle, streamed: how `records.jsonl` is read, by itself or
/// beside the same file of another bundle.
final class RecordStream {
    /// The longest line accepted.
    static let maxLine = 1 << 20

    private var reader: ArchiveReader
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    private var chunk = [UInt8](repeating: 0, count: 1 << 20)
    /// Lines returned so far.
    private(set) var lineNumber = 0

    /// Opens `bundle` at its file `path`; nil when the bundle has no such file.
    init?(bundle: String, path: String) throws(AuditError) {
        reader = try open(bundle)
        do {
            while let entry = try reader.next() {
                if entry.path == path && entry.isRegularFile { return }
            }
        } catch { throw AuditError.bundle("\(bundle): \(error)") }
        return nil
    }

    /// The next line without its line break, or nil at the end of the file.
    func nextLine() throws(AuditError) -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0a) {
                let line = buffer[start..<newline]
                start = newline + 1
                lineNumber += 1
                return line
            }
            guard buffer.count - start <= Self.maxLine else {
                throw AuditError.bundle("line \(lineNumber + 1) is longer than \(Self.maxLine) bytes")
            }
            if ended {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                lineNumber += 1
                return line
            }
            buffer.removeSubrange(..<start)
            start = 0
            let count: Int
            do { count = try reader.read(into: &chunk) } catch {
                throw AuditError.bundle("\(error)")
            }
            if count == 0 { ended = true } else { buffer += chunk[..<count] }
        }
    }
}
