import Foundation
import NIOCore

/// The UDP socket of one server-side transfer: bound beside the address the request came
/// to, on a port of its own (the transfer ID), and connected to the client, so the kernel
/// drops what anyone else sends and no packet needs an address or a route look-up. The
/// transfer's channel is registered on it; the transfer sends on it directly, and may read
/// the client's answer from it without waiting for the event loop (see ``receive(into:within:)``).
struct TFTPTransferSocket: Sendable {
    private let socket: DatagramSocket
    /// The descriptor; the channel registered on it owns and closes it.
    var descriptor: CInt { socket.descriptor }
    /// Whether the kernel still cuts windows into datagrams for it (UDP generic segmentation
    /// offload); cleared the first time its path cannot (an MTU below the block, a device
    /// without checksum offload).
    private(set) var segments = true

    /// Wraps `descriptor`, a datagram socket already connected to its client; `segments`
    /// only if it is a UDP socket (another kind ignores the segment size and would send a
    /// window as one datagram).
    init(connected descriptor: CInt, segments: Bool) {
        socket = DatagramSocket(descriptor: descriptor)
        self.segments = segments
    }

    /// A non-blocking socket bound to `local` (port 0: the kernel picks) and connected to `client`.
    init(local: SocketAddress, client: SocketAddress) throws(DatagramSocketError) {
        if let problem = DatagramDestination.problem(client) { throw DatagramSocketError(problem) }
        var unbound = local
        unbound.port = 0
        socket = try DatagramSocket.bound(to: unbound)
        do { try socket.connect(to: client) } catch {
            socket.close()
            throw error
        }
        // Whatever reached the port between bind and connect came from anyone: dropped.
        socket.drain()
    }

    /// The largest answer read from a client: an acknowledgement is 4 bytes, an error a
    /// message; longer ones are cut and then refused as malformed.
    static let largestAnswer = 2_048

    /// Sends `packets`, back to back, as datagrams of `datagramSize` bytes (the last may be
    /// shorter; nil: one datagram), in as few system calls as the kernel allows and without
    /// waiting: a window is one segmented send while ``segments`` holds. Returns what the
    /// kernel did not take — its socket buffer full, as a slow link leaves it, or an error
    /// pending — for the caller to send once the socket can take it; empty when all went.
    mutating func send(_ packets: ByteBuffer, datagramSize: Int? = nil) -> ByteBuffer {
        let size = datagramSize ?? packets.readableBytes
        let taken = packets.withUnsafeReadableBytes { bytes in
            socket.sendDatagrams(bytes, datagramSize: size, segmenting: &segments)
        }
        var rest = packets
        rest.moveReaderIndex(forwardBy: min(max(taken, 0) * size, rest.readableBytes))
        return rest
    }

    /// Reads the client's next packet into `buffer` if one arrives within `window`,
    /// polling the socket and yielding the processor between looks (so that a client on
    /// the same processor gets to answer); its length, or nil when none came. A client on a
    /// fast link answers a DATA packet within microseconds: catching the answer here spares
    /// the event loop's sleep and wake-up.
    func receive(into buffer: inout [UInt8], within window: TimeAmount) -> Int? {
        // The clock is read only once the first look finds nothing: usually it finds the answer.
        var deadline: NIODeadline?
        return buffer.withUnsafeMutableBytes { bytes in
            while true {
                switch socket.receive(into: bytes) {
                case .datagram(let count): return count
                case .failed: return nil
                case .nothing: break
                }
                let now = NIODeadline.now()
                if let deadline, now >= deadline { return nil }
                deadline = deadline ?? now + window
                sched_yield()
            }
        }
    }
}
