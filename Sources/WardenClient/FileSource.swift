import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// What a transfer tells as it goes: the bytes moved so far, and all there are to move
/// when that is known.
public typealias TransferProgress = @Sendable (_ done: Int, _ total: Int?) -> Void

/// An open file sent as a request's body, a piece at a time (blocking reads: the CLI has
/// one connection), telling `progress` how many bytes are read. It reads its own duplicate
/// of the caller's descriptor, so that whatever the caller closes, it never reads another
/// file. Used only on its channel's event loop (``rewind()`` before the request is written).
final class FileSource: @unchecked Sendable {
    /// The largest piece read at once.
    static let pieceSize = 1 << 20
    private let descriptor: Int32
    private let size: Int
    private let progress: TransferProgress?
    private var sent = 0
    /// Set once the request was answered or failed: nothing more is read.
    private(set) var isStopped = false

    init(descriptor: Int32, size: Int, progress: TransferProgress?) {
        self.descriptor = dup(descriptor)
        self.size = size
        self.progress = progress
    }

    deinit { close(descriptor) }

    func stop() { isStopped = true }

    /// Back to the file's start, for a request sent again.
    func rewind() {
        sent = 0
        isStopped = false
        lseek(descriptor, 0, SEEK_SET)
    }

    /// The next piece; nil once `size` bytes were read. A file shorter than it said fails.
    func next(allocator: ByteBufferAllocator) throws(ClientError) -> ByteBuffer? {
        guard descriptor >= 0 else { throw .protocolError("the file to upload cannot be read") }
        guard sent < size else { return nil }
        let wanted = min(Self.pieceSize, size - sent)
        var buffer = allocator.buffer(capacity: wanted)
        let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { bytes in
            max(read(descriptor, bytes.baseAddress, wanted), 0)
        }
        guard count > 0 else { throw .protocolError("the file ended after \(sent) of its \(size) bytes") }
        sent += count
        progress?(sent, size)
        return buffer
    }
}
