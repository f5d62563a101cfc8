import NIOCore

/// Every DATA packet of one file at one block size, in order and back to back, so that a
/// window of them goes to the kernel in one piece. Shared: built once into one buffer, each
/// window a slice of it, so transfers of the same file at the same block size (every
/// machine fetching the iPXE binary) copy and allocate nothing per block. On demand: each
/// packet built when sent from the file's bytes, for block sizes not worth a copy of the
/// file (a client may ask for any size from 8 to 65,464).
public struct TFTPDataPackets: Sendable {
    private enum Storage: Sendable {
        case shared(ByteBuffer)
        case onDemand([UInt8], ByteBufferAllocator)
    }

    private let storage: Storage
    private let blockSize: Int
    private let fileSize: Int
    /// Packets of the file: one per block.
    public let count: Int

    /// The packets of `file` at `blockSize`, built now into one buffer when `shared`.
    public init(
        file: [UInt8], blockSize: Int, shared: Bool = true, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) {
        self.blockSize = blockSize
        fileSize = file.count
        count = TFTPTransfer.blockCount(fileSize: file.count, blockSize: blockSize)
        guard shared else {
            storage = .onDemand(file, allocator)
            return
        }
        var buffer = allocator.buffer(capacity: file.count + 4 * count)
        for block in 1...count { Self.write(block, of: file, blockSize: blockSize, into: &buffer) }
        storage = .shared(buffer)
    }

    /// The size of every DATA packet but the last: the block and its 4-byte header.
    public var datagramSize: Int { blockSize + 4 }

    /// The DATA packets of `blocks` (within 1 to ``count``), one after the other: each is
    /// ``datagramSize`` bytes but the file's last, which is shorter.
    public func packets(_ blocks: ClosedRange<Int>) -> ByteBuffer {
        precondition(blocks.lowerBound >= 1 && blocks.upperBound <= count, "blocks \(blocks) of \(count)")
        switch storage {
        case .shared(let buffer):
            let start = (blocks.lowerBound - 1) * datagramSize
            let end = min(blocks.upperBound * datagramSize, buffer.readableBytes)
            return buffer.getSlice(at: start, length: end - start)!
        case .onDemand(let file, let allocator):
            var buffer = allocator.buffer(capacity: blocks.count * datagramSize)
            for block in blocks { Self.write(block, of: file, blockSize: blockSize, into: &buffer) }
            return buffer
        }
    }

    /// The bytes this keeps beyond the file itself, to bound a cache of them.
    public var size: Int {
        if case .shared(let buffer) = storage { return buffer.readableBytes }
        return 0
    }

    private static func write(_ block: Int, of file: [UInt8], blockSize: Int, into buffer: inout ByteBuffer) {
        let start = (block - 1) * blockSize
        buffer.writeInteger(UInt16(3))
        buffer.writeInteger(UInt16(truncatingIfNeeded: block))
        buffer.writeBytes(file[start..<min(start + blockSize, file.count)])
    }
}
