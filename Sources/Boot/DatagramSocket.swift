import CDatagrams
import Foundation
import NIOCore

/// A UDP socket's descriptor and the system calls the boot services make on it: Boot's one
/// owner of `socket`, `setsockopt`, `bind`, `connect`, `sendto`, `recv` and of Warden's own C
/// (`CDatagrams`: segmented sends and `sendmmsg(2)`). Every socket is non-blocking and
/// close-on-exec. Who closes it is the holder's to say: ``close()``, or a SwiftNIO channel
/// the descriptor was handed to.
struct DatagramSocket: Sendable {
    let descriptor: CInt

    /// A new socket of `address`'s family, bound to it.
    static func bound(to address: SocketAddress, options: [(name: CInt, value: CInt, label: String)] = [])
        throws(DatagramSocketError) -> DatagramSocket
    {
        let descriptor = socket(
            address.protocol.rawValue,
            Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw DatagramSocketError("socket", errno: errno) }
        let socket = DatagramSocket(descriptor: descriptor)
        do throws(DatagramSocketError) {
            for option in options { try socket.set(option.name, option.value, option.label) }
            guard address.withSockAddr({ bind(descriptor, $0, socklen_t($1)) }) == 0 else {
                throw DatagramSocketError("bind to \(address)", errno: errno)
            }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Sets socket option `name` (`SOL_SOCKET`) to `value`.
    func set(_ name: CInt, _ value: CInt, _ label: String) throws(DatagramSocketError) {
        var value = value
        guard setsockopt(descriptor, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
            throw DatagramSocketError("setsockopt \(label)", errno: errno)
        }
    }

    /// Connects the socket to `peer`: the kernel then drops what anyone else sends.
    func connect(to peer: SocketAddress) throws(DatagramSocketError) {
        guard peer.withSockAddr({ Glibc.connect(descriptor, $0, socklen_t($1)) }) == 0 else {
            throw DatagramSocketError("connect to \(peer)", errno: errno)
        }
    }

    /// A duplicate of the descriptor, for a channel that reads from it and closes it.
    func duplicate() throws(DatagramSocketError) -> CInt {
        let duplicate = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0 else { throw DatagramSocketError("dup", errno: errno) }
        return duplicate
    }

    func close() {
        Glibc.close(descriptor)
    }

    /// Sends one datagram to `destination` without waiting; the error, if any.
    func send(_ bytes: [UInt8], to destination: SocketAddress) -> DatagramSocketError? {
        let sent = bytes.withUnsafeBytes { buffer in
            destination.withSockAddr { address, length in
                sendto(
                    descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), address,
                    socklen_t(length))
            }
        }
        return sent == bytes.count ? nil : DatagramSocketError("sendto \(destination)", errno: errno)
    }

    /// Sends `bytes` on the connected socket as datagrams of `datagramSize` bytes (the last
    /// may be shorter), segmented by the kernel while `segmenting` holds (cleared when its
    /// path cannot), else by `sendmmsg(2)`; how many datagrams the kernel took (negative:
    /// an error).
    func sendDatagrams(_ bytes: UnsafeRawBufferPointer, datagramSize: Int, segmenting: inout Bool) -> Int {
        var flag: CInt = segmenting ? 1 : 0
        let taken = warden_send_datagrams(descriptor, bytes.baseAddress, bytes.count, datagramSize, &flag)
        segmenting = flag != 0
        return Int(taken)
    }

    /// What a receive without waiting found.
    enum Received {
        /// A datagram of this many bytes (its full length when `truncated` was asked).
        case datagram(Int)
        /// Nothing waits (or a signal interrupted the call).
        case nothing
        /// The socket has an error pending.
        case failed(DatagramSocketError)
    }

    /// Reads the next datagram into `buffer` without waiting; `truncated`: report its full
    /// length even when the buffer holds less of it.
    func receive(into buffer: UnsafeMutableRawBufferPointer, truncated: Bool = false) -> Received {
        received(
            recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | (truncated ? Int32(MSG_TRUNC) : 0))
        )
    }

    /// Reads the next datagram into `buffer` without waiting, with the port it came from
    /// (IPv4; network byte order, as a socket address holds it).
    func receive(into buffer: UnsafeMutableRawBufferPointer, sourcePort: inout UInt16) -> Received {
        var source = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &source) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), $0, &length)
            }
        }
        sourcePort = source.sin_port
        return received(count)
    }

    private func received(_ count: Int) -> Received {
        if count >= 0 { return .datagram(count) }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
            ? .nothing : .failed(DatagramSocketError("recv", errno: errno))
    }

    /// Whether a datagram waits, or arrives within `milliseconds`.
    func waitUntilReadable(milliseconds: Int32) -> Bool {
        var polled = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&polled, 1, milliseconds) == 1
    }

    /// Reads and drops every datagram waiting.
    func drain() {
        withUnsafeTemporaryAllocation(byteCount: 1, alignment: 1) { scratch in
            while case .datagram = receive(into: scratch, truncated: true) {}
        }
    }
}
