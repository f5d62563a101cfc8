import Foundation

/// A small blocking TFTP client over IPv4 UDP, one ``TFTPReadSession`` at a time. The
/// benchmark measures servers with it; tests make it drop chosen blocks once, to exercise
/// a server's recovery.
public final class TFTPClient {
    public typealias Fetch = TFTPReadSession.Fetch

    /// Why a fetch failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private let socket: TFTPClientSocket
    /// The port of the transfer ``request(_:options:)`` began.
    private var transferPort: UInt16?

    /// A client of the server at `host`:`port`, giving up after `timeoutSeconds` of silence
    /// five times in a row.
    public init(host: String = "127.0.0.1", port: Int, timeoutSeconds: Int = 2) throws {
        socket = try TFTPClientSocket(host: host, port: port, receiveTimeoutSeconds: timeoutSeconds)
    }

    /// Fetches `name`; `dropOnce` lists blocks to ignore the first time they arrive.
    public func fetch(_ name: String, blockSize: Int? = nil, windowSize: Int? = nil, dropOnce: Set<Int> = []) throws -> Fetch {
        var session = TFTPReadSession(name, blockSize: blockSize, windowSize: windowSize, dropOnce: dropOnce)
        try socket.send(session.request, to: socket.serverPort)
        while true {
            guard let (packet, from) = try socket.receive() else {
                try socket.send(try session.silence(), to: session.destination(serverPort: socket.serverPort))
                continue
            }
            let step = try session.receive(packet, from: from)
            if let acknowledgement = step.acknowledgement { try socket.send(acknowledgement, to: session.transferPort) }
            if let fetched = step.fetched { return fetched }
        }
    }

    /// Sends a read request and returns the server's first answer (to hold a transfer open).
    public func request(_ name: String, options: [TFTPOption]) throws -> TFTPPacket {
        try socket.send(TFTPPacket.readRequest(file: name, mode: "octet", options: options).bytes, to: socket.serverPort)
        guard let (packet, port) = try socket.receive() else { throw Failure(description: "no answer") }
        transferPort = port
        return packet
    }

    /// Acknowledges `block` of the transfer ``request(_:options:)`` began (0: its options).
    public func acknowledge(_ block: UInt16) throws {
        guard let transferPort else { throw Failure(description: "no transfer was requested") }
        try socket.send(TFTPPacket.acknowledgement(block: block).bytes, to: transferPort)
    }
}

/// A client's IPv4 UDP socket towards one server: blocking with a receive timeout, or
/// non-blocking for poll(2).
final class TFTPClientSocket {
    let descriptor: Int32
    private let server: sockaddr_in
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    /// The server's well-known port, in network byte order.
    var serverPort: UInt16 { server.sin_port }

    /// `receiveTimeoutSeconds` nil: non-blocking.
    init(host: String, port: Int, receiveTimeoutSeconds: Int?) throws(TFTPClient.Failure) {
        descriptor = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | (receiveTimeoutSeconds == nil ? Int32(SOCK_NONBLOCK.rawValue) : 0), 0)
        guard descriptor >= 0 else { throw TFTPClient.Failure(description: "socket: \(String(cString: strerror(errno)))") }
        if let receiveTimeoutSeconds {
            var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        var size: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        server = address
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8], to port: UInt16) throws(TFTPClient.Failure) {
        var address = server
        address.sin_port = port
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == bytes.count else { throw TFTPClient.Failure(description: "sendto: \(String(cString: strerror(errno)))") }
    }

    /// The next packet and the port it came from (in network byte order, as `send` takes
    /// it); nil after a timeout, or at once when nothing waits on a non-blocking socket.
    func receive() throws(TFTPClient.Failure) -> (TFTPPacket, UInt16)? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length) }
        }
        if count < 0 {
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                throw TFTPClient.Failure(description: "recvfrom: \(String(cString: strerror(errno)))")
            }
            return nil
        }
        do { return (try TFTPPacket.parse(buffer[..<count]), address.sin_port) } catch {
            throw TFTPClient.Failure(description: "malformed packet: \(error)")
        }
    }
}
