import Boot
import Foundation

/// A TFTP client of the project's own over a blocking UDP socket: it asks for windows and
/// drops chosen DATA packets once, acknowledging only the last block it has in order (RFC
/// 7440), and acknowledges some blocks twice, to exercise the server's recovery.
final class LossyTFTPClient {
    private let socket: Int32
    private let port: Int
    private var transferPort: UInt16 = 0
    private(set) var retransmissionsSeen = 0

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(port: Int) throws {
        self.port = port
        socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(socket) }

    /// Sends a read request and reads the option acknowledgement.
    func request(_ name: String, blockSize: Int, windowSize: Int) throws {
        let request = TFTPPacket.readRequest(file: name, mode: "octet", options: [
            TFTPOption(name: "blksize", value: String(blockSize)), TFTPOption(name: "windowsize", value: String(windowSize)),
        ])
        try send(request.bytes, to: UInt16(port))
        let (reply, from) = try receive()
        guard case .optionAcknowledgement = reply else { throw Failure(description: "expected OACK, got \(reply)") }
        transferPort = from
    }

    /// Fetches `name`, dropping each block in `dropOnce` the first time it arrives.
    func fetch(_ name: String, blockSize: Int, windowSize: Int, dropOnce: Set<Int>) throws -> [UInt8] {
        try request(name, blockSize: blockSize, windowSize: windowSize)
        try acknowledge(0)
        var file: [UInt8] = []
        var expected = 1
        var dropped = Set<Int>()
        var seen = Set<Int>()
        while true {
            let (packet, _) = try receive()
            guard case .data(let wire, let payload) = packet else { throw Failure(description: "expected DATA, got \(packet)") }
            let block = expected - Int(UInt16(truncatingIfNeeded: expected) &- wire)
            if !seen.insert(block).inserted { retransmissionsSeen += 1 }
            if dropOnce.contains(block), dropped.insert(block).inserted { continue }
            guard block == expected else {
                // Out of order after a loss: acknowledge what we have, as RFC 7440 says.
                if block > expected { try acknowledge(expected - 1) }
                continue
            }
            file += payload
            expected += 1
            let last = payload.count < blockSize
            if last || (block % windowSize == 0) {
                try acknowledge(block)
                if block % 5 == 0 { try acknowledge(block) }
            }
            if last { return file }
        }
    }

    private func acknowledge(_ block: Int) throws {
        try send(TFTPPacket.acknowledgement(block: UInt16(truncatingIfNeeded: block)).bytes, to: transferPort)
    }

    private func send(_ bytes: [UInt8], to port: UInt16) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == bytes.count else { throw Failure(description: "sendto: \(errno)") }
    }

    private func receive() throws -> (TFTPPacket, UInt16) {
        var buffer = [UInt8](repeating: 0, count: 70_000)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count >= 0 else { throw Failure(description: "no answer (errno \(errno))") }
        return (try TFTPPacket.parse(buffer[..<count]), UInt16(bigEndian: address.sin_port))
    }
}
