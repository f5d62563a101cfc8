import Foundation

/// A small blocking TFTP client over IPv4 UDP: read requests with `blksize` and
/// `windowsize` (falling back to what the server grants), acknowledging the last block it
/// holds in order as RFC 7440 says. The benchmark measures servers with it; tests make it
/// drop chosen blocks once, to exercise a server's recovery.
public final class TFTPClient {
    /// What a fetch brought back.
    public struct Fetch: Sendable {
        public let bytes: [UInt8]
        /// DATA packets that arrived for a block already seen (retransmissions).
        public let duplicates: Int
    }

    /// Why a fetch failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private let socket: Int32
    private let server: sockaddr_in
    private var buffer = [UInt8](repeating: 0, count: 65_536)
    /// The server's port for the transfer under way, in network byte order.
    private var transferPort: UInt16 = 0

    /// A client of the server at `host`:`port`, giving up after `timeoutSeconds` of silence
    /// five times in a row.
    public init(host: String = "127.0.0.1", port: Int, timeoutSeconds: Int = 2) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var size: Int32 = 4 << 20
        setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        server = address
    }

    deinit { close(socket) }

    /// Fetches `name`; `dropOnce` lists blocks to ignore the first time they arrive.
    public func fetch(_ name: String, blockSize: Int? = nil, windowSize: Int? = nil, dropOnce: Set<Int> = []) throws -> Fetch {
        var options: [TFTPOption] = []
        if let blockSize { options.append(TFTPOption(name: "blksize", value: String(blockSize))) }
        if let windowSize { options.append(TFTPOption(name: "windowsize", value: String(windowSize))) }
        try send(TFTPPacket.readRequest(file: name, mode: "octet", options: options).bytes, to: server.sin_port)
        var granted = (blockSize: 512, windowSize: 1)
        var file: [UInt8] = []
        var expected = 1
        /// The block the last acknowledgement sent named (0: the option acknowledgement's).
        var acknowledgedBlock = 0
        var dropped = Set<Int>(), seen = Set<Int>()
        var duplicates = 0, silences = 0
        var lastAcknowledgement: [UInt8]?
        func acknowledge(_ block: Int) throws {
            lastAcknowledgement = TFTPPacket.acknowledgement(block: UInt16(truncatingIfNeeded: block)).bytes
            acknowledgedBlock = block
            try send(lastAcknowledgement!, to: transferPort)
        }
        while true {
            guard let (packet, from) = try receive() else {
                silences += 1
                guard silences <= 5 else { throw Failure(description: "no answer after 5 timeouts") }
                if let lastAcknowledgement { try send(lastAcknowledgement, to: transferPort) }
                continue
            }
            silences = 0
            switch packet {
            case .optionAcknowledgement(let acknowledged):
                transferPort = from
                for option in acknowledged {
                    if option.name == "blksize", let value = Int(option.value) { granted.blockSize = value }
                    if option.name == "windowsize", let value = Int(option.value) { granted.windowSize = value }
                }
                try acknowledge(0)
            case .data(let wire, let payload):
                if expected == 1 && file.isEmpty { transferPort = from }
                // The block number unwrapped: the one nearest to the block expected.
                let block = expected + Int(Int16(bitPattern: wire &- UInt16(truncatingIfNeeded: expected)))
                if !seen.insert(block).inserted { duplicates += 1 }
                if dropOnce.contains(block), dropped.insert(block).inserted { continue }
                guard block == expected else {
                    // A gap (a block was lost) or a block again (our acknowledgement was
                    // lost): acknowledge the last block held in order, as RFC 7440 says;
                    // the server sends its next window from there.
                    try acknowledge(expected - 1)
                    continue
                }
                file += payload
                expected += 1
                let last = payload.count < granted.blockSize
                if last || block - acknowledgedBlock >= granted.windowSize { try acknowledge(block) }
                if last { return Fetch(bytes: file, duplicates: duplicates) }
            case .error(let code, let message):
                throw Failure(description: "error \(code.rawValue): \(message)")
            default:
                throw Failure(description: "unexpected \(packet)")
            }
        }
    }

    /// Sends a read request and returns the server's first answer (to hold a transfer open).
    public func request(_ name: String, options: [TFTPOption]) throws -> TFTPPacket {
        try send(TFTPPacket.readRequest(file: name, mode: "octet", options: options).bytes, to: server.sin_port)
        guard let (packet, _) = try receive() else { throw Failure(description: "no answer") }
        return packet
    }

    private func send(_ bytes: [UInt8], to port: UInt16) throws {
        var address = server
        address.sin_port = port
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == bytes.count else { throw Failure(description: "sendto: \(String(cString: strerror(errno)))") }
    }

    /// The next packet and the port it came from (in network byte order, as `send` takes
    /// it); nil after a timeout.
    private func receive() throws -> (TFTPPacket, UInt16)? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &length) }
        }
        if count < 0 {
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { throw Failure(description: "recvfrom: \(String(cString: strerror(errno)))") }
            return nil
        }
        do { return (try TFTPPacket.parse(buffer[..<count]), address.sin_port) } catch {
            throw Failure(description: "malformed packet: \(error)")
        }
    }
}
