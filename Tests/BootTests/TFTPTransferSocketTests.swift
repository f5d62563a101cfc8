@testable import Boot
import Foundation
import NIOCore
import Testing

/// A transfer's own socket on loopback: it hears its client only, and its polling read
/// gives up after its window.
@Suite struct TFTPTransferSocketTests {
    /// A plain UDP socket on 127.0.0.1 playing a client or a stranger.
    final class Peer {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let address: SocketAddress

        init() throws {
            address = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
            guard address.withSockAddr({ bind(descriptor, $0, socklen_t($1)) }) == 0 else {
                throw CocoaError(.fileWriteUnknown)
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(descriptor) }

        /// Where the kernel bound it.
        var bound: SocketAddress { Self.address(of: descriptor) }

        /// Where the kernel bound the IPv4 socket `descriptor`.
        static func address(of descriptor: CInt) -> SocketAddress {
            var storage = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            return SocketAddress(storage, host: "127.0.0.1")
        }

        func send(_ bytes: [UInt8], to address: SocketAddress) {
            _ = address.withSockAddr { sendto(descriptor, bytes, bytes.count, 0, $0, socklen_t($1)) }
        }

        /// The next datagram and the port it came from, or nil after 2 s.
        func receive() -> ([UInt8], Int)? {
            var buffer = [UInt8](repeating: 0, count: 2_048)
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length)
                }
            }
            return count < 0 ? nil : (Array(buffer[..<count]), Int(UInt16(bigEndian: from.sin_port)))
        }
    }

    @Test func itHearsOnlyItsClientAndAnswersFromItsOwnPort() throws {
        let client = try Peer(), stranger = try Peer()
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        var socket = try TFTPTransferSocket(local: local, client: client.bound)
        defer { close(socket.descriptor) }
        let port = Peer.address(of: socket.descriptor)

        var buffer = [UInt8](repeating: 0, count: TFTPTransferSocket.largestAnswer)
        stranger.send(TFTPPacket.acknowledgement(block: 9).bytes, to: port)
        #expect(socket.receive(into: &buffer, within: .milliseconds(20)) == nil, "a stranger's packet was read")
        client.send(TFTPPacket.acknowledgement(block: 1).bytes, to: port)
        let count = try #require(
            socket.receive(into: &buffer, within: .milliseconds(500)), "the client's packet was not read")
        #expect(try TFTPPacket.parse(buffer[..<count]) == .acknowledgement(block: 1))

        #expect(socket.send(ByteBuffer(bytes: TFTPPacket.data(block: 2, payload: [1, 2, 3]).bytes)).readableBytes == 0)
        let (received, from) = try #require(client.receive(), "nothing reached the client")
        #expect(try TFTPPacket.parse(received[...]) == .data(block: 2, payload: [1, 2, 3]))
        #expect(from == port.port)
    }

    /// A window goes out in one call, cut into its packets: full ones, then a shorter last;
    /// by the kernel on loopback, and one by one where the kernel cannot segment (it cannot
    /// for a socket that sends without UDP checksums).
    @Test(arguments: [false, true]) func aWindowArrivesAsItsPackets(withoutChecksums: Bool) throws {
        let client = try Peer()
        var socket = try TFTPTransferSocket(
            local: try SocketAddress(ipAddress: "127.0.0.1", port: 0), client: client.bound)
        defer { close(socket.descriptor) }
        var noChecksums: CInt = withoutChecksums ? 1 : 0
        try #require(
            setsockopt(socket.descriptor, SOL_SOCKET, SO_NO_CHECK, &noChecksums, socklen_t(MemoryLayout<CInt>.size))
                == 0)
        let file = (0..<(3 * 512 + 100)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let packets = TFTPDataPackets(file: file, blockSize: 512)
        #expect(socket.send(packets.packets(2...4), datagramSize: packets.datagramSize).readableBytes == 0)
        #expect(socket.segments == !withoutChecksums)
        var arrived: [TFTPPacket] = []
        for _ in 0..<3 {
            arrived.append(try TFTPPacket.parse(try #require(client.receive(), "a packet is missing").0[...]))
        }
        #expect(
            arrived == [
                .data(block: 2, payload: file[512..<1024]), .data(block: 3, payload: file[1024..<1536]),
                .data(block: 4, payload: file[1536...]),
            ])
    }

    /// What the socket cannot take comes back whole, from the first datagram not sent: a
    /// Unix datagram pair with a small buffer fills up as a slow link's queue would.
    @Test func whatTheSocketCannotTakeComesBack() throws {
        var pair: [CInt] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &pair) == 0)
        defer { pair.forEach { close($0) } }
        var size: CInt = 4_096
        setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<CInt>.size))
        let packets = TFTPDataPackets(
            file: (0..<(40 * 1_468)).map { UInt8(truncatingIfNeeded: $0 * 13) }, blockSize: 1_468)
        let window = packets.packets(1...40)

        var socket = TFTPTransferSocket(connected: pair[0], segments: false)
        let rest = socket.send(window, datagramSize: packets.datagramSize)
        var arrived: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2_048)
        var datagrams = 0
        while true {
            let count = recv(pair[1], &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count > 0 else { break }
            #expect(count == packets.datagramSize)
            arrived += buffer[..<count]
            datagrams += 1
        }
        #expect(datagrams > 0 && datagrams < 40, "the buffer took \(datagrams) of 40 datagrams")
        #expect(arrived + Array(rest.readableBytesView) == Array(window.readableBytesView))
    }

    @Test func anAddressItCannotBindIsAClearError() throws {
        let client = try Peer()
        // 192.0.2.1 (TEST-NET-1) is no address of this machine: bind fails, nothing is sent.
        #expect {
            try TFTPTransferSocket(local: try SocketAddress(ipAddress: "192.0.2.1", port: 0), client: client.bound)
        } throws: { error in
            (error as? DatagramSocketError)?.description.hasPrefix("bind to") == true
        }
    }
}
