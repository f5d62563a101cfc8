import Foundation
import NIOCore

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
    public func fetch(_ name: String, blockSize: Int? = nil, windowSize: Int? = nil, dropOnce: Set<Int> = []) throws
        -> Fetch
    {
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
        try socket.send(
            TFTPPacket.readRequest(file: name, mode: "octet", options: options).bytes, to: socket.serverPort)
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

/// A client's IPv4 UDP socket towards one server (a ``DatagramSocket``): waiting for each
/// answer up to a timeout, or not at all for callers that poll(2) many at once.
final class TFTPClientSocket {
    private let socket: DatagramSocket
    private let host: String
    /// How long ``receive()`` waits; nil: not at all.
    private let timeoutMilliseconds: Int32?
    private var buffer = [UInt8](repeating: 0, count: 65_536)
    /// The address of the last port sent to, kept: a transfer sends to one port throughout.
    private var destination: (port: UInt16, address: SocketAddress)?

    /// The server's well-known port, in network byte order.
    let serverPort: UInt16
    var descriptor: CInt { socket.descriptor }

    /// `receiveTimeoutSeconds` nil: ``receive()`` never waits.
    init(host: String, port: Int, receiveTimeoutSeconds: Int?) throws(TFTPClient.Failure) {
        do {
            socket = try DatagramSocket.bound(
                to: try SocketAddress(ipAddress: "0.0.0.0", port: 0), options: [(SO_RCVBUF, 4 << 20, "SO_RCVBUF")])
        } catch {
            throw TFTPClient.Failure(description: "\(error)")
        }
        self.host = host
        timeoutMilliseconds = receiveTimeoutSeconds.map { Int32(clamping: $0 * 1_000) }
        serverPort = UInt16(clamping: port).bigEndian
    }

    deinit { socket.close() }

    /// Sends `bytes` to the server's `port` (network byte order).
    func send(_ bytes: [UInt8], to port: UInt16) throws(TFTPClient.Failure) {
        let address: SocketAddress
        if let destination, destination.port == port {
            address = destination.address
        } else {
            do { address = try SocketAddress(ipAddress: host, port: Int(UInt16(bigEndian: port))) } catch {
                throw TFTPClient.Failure(description: "\(host) is not an IP address")
            }
            destination = (port, address)
        }
        if let error = socket.send(bytes, to: address) { throw TFTPClient.Failure(description: error.description) }
    }

    /// The next packet and the port it came from (in network byte order, as `send` takes
    /// it); nil after the timeout, or at once when nothing waits and the socket never waits.
    func receive() throws(TFTPClient.Failure) -> (TFTPPacket, UInt16)? {
        if let timeoutMilliseconds, !socket.waitUntilReadable(milliseconds: timeoutMilliseconds) { return nil }
        var port: UInt16 = 0
        let received = buffer.withUnsafeMutableBytes { socket.receive(into: $0, sourcePort: &port) }
        switch received {
        case .nothing: return nil
        case .failed(let error): throw TFTPClient.Failure(description: error.description)
        case .datagram(let count):
            do { return (try TFTPPacket.parse(buffer[..<count]), port) } catch {
                throw TFTPClient.Failure(description: "malformed packet: \(error)")
            }
        }
    }
}
