import Foundation
import WardenCrypto

/// A temporary file written in large buffered chunks while its SHA-256 is computed, then
/// read back in chunks: how a file of unknown final size goes into a tar archive (whose
/// headers need the size first) through constant memory. Removed when released.
final class SpoolFile {
    let path: String
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var hasher = Hasher(.sha256)
    private(set) var size = 0
    private static let chunkSize = 1 << 20

    /// Creates an empty spool file in `folder`.
    init(in folder: String, name: String) throws(AuditError) {
        path = folder + "/." + name + "." + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw AuditError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        unlink(path)
        buffer.reserveCapacity(Self.chunkSize)
    }

    deinit { close(descriptor) }

    /// Appends what `write` appends to the buffer it is given.
    func append(_ write: (inout [UInt8]) -> Void) throws(AuditError) {
        write(&buffer)
        if buffer.count >= Self.chunkSize { try flush() }
    }

    /// Finishes writing; returns the file's SHA-256.
    func finish() throws(AuditError) -> [UInt8] {
        try flush()
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { throw AuditError.io("cannot rewind \(path)") }
        return hasher.finalize()
    }

    /// The next chunk of the finished file; empty at its end.
    func nextChunk() throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: Self.chunkSize)
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw AuditError.io("cannot read \(path): \(String(cString: strerror(errno)))") }
        chunk.removeSubrange(count...)
        return chunk
    }

    private func flush() throws(AuditError) {
        hasher.update(buffer)
        var offset = 0
        while offset < buffer.count {
            let written = buffer[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw AuditError.io("cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += written
        }
        size += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
}
