import NIOCore

/// Every DATA packet of one file at one block size, built once into one buffer: each
/// packet sent is a slice of it, so a transfer copies and allocates nothing per block, and
/// every machine fetching the same iPXE binary at the same block size shares the packets.
public struct TFTPDataPackets: Sendable {
    private let buffer: ByteBuffer
    private let blockSize: Int
    private let fileSize: Int
    /// Packets in the buffer: one per block.
    public let count: Int

    public init(file: [UInt8], blockSize: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.blockSize = blockSize
        fileSize = file.count
        count = TFTPTransfer.blockCount(fileSize: file.count, blockSize: blockSize)
        var buffer = allocator.buffer(capacity: file.count + 4 * count)
        for block in 1...count {
            let start = (block - 1) * blockSize
            buffer.writeInteger(UInt16(3))
            buffer.writeInteger(UInt16(truncatingIfNeeded: block))
            buffer.writeBytes(file[start..<min(start + blockSize, file.count)])
        }
        self.buffer = buffer
    }

    /// The DATA packet of `block` (1 to ``count``).
    public func packet(_ block: Int) -> ByteBuffer {
        precondition((1...count).contains(block), "block \(block) of \(count)")
        let start = (block - 1) * (blockSize + 4)
        let length = 4 + min(blockSize, fileSize - (block - 1) * blockSize)
        return buffer.getSlice(at: start, length: length)!
    }

    /// The bytes this holds, to bound a cache of them.
    public var size: Int { buffer.readableBytes }
}
