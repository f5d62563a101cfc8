import Foundation
import NIOCore

/// A UDP socket a boot service listens on and answers from. SwiftNIO reads from a
/// duplicate of it; answers leave through ``send(_:to:)``, straight to the kernel. SwiftNIO
/// closes a datagram channel on most send errors (only `EMSGSIZE` and `EHOSTUNREACH` are
/// forgiven), so one reply to an impossible address — a forged relay address, a source port
/// of 0 — would silence the whole listener; here a failed send is that one reply's failure.
final class ListenerSocket: Sendable {
    /// The socket answers are sent on; closed when this is released.
    private let socket: DatagramSocket

    /// A non-blocking UDP socket bound to `address`, with `SO_BROADCAST` when asked and a
    /// receive buffer of `receiveBuffer` bytes (the kernel caps it at `net.core.rmem_max`).
    ///
    /// `SO_REUSEADDR` is set only when the port is `shared` with a sibling socket (a
    /// ProxyDHCP port with a wildcard and an addressed socket). Otherwise a second server on
    /// the same port fails to start instead of silently taking part of the traffic, and a
    /// port the kernel picks for it (port 0) is never one another socket holds (a shared
    /// socket asking for port 0 may be given one another `SO_REUSEADDR` socket holds).
    init(bindingTo address: SocketAddress, broadcast: Bool, shared: Bool, receiveBuffer: Int)
        throws(DatagramSocketError)
    {
        socket = try DatagramSocket.bound(
            to: address,
            options: (shared ? [(SO_REUSEADDR, 1, "SO_REUSEADDR")] : [])
                + (broadcast ? [(SO_BROADCAST, 1, "SO_BROADCAST")] : [])
                + [(SO_RCVBUF, CInt(clamping: receiveBuffer), "SO_RCVBUF")])
    }

    deinit { socket.close() }

    /// A duplicate of the descriptor for the channel that reads from it, which closes it.
    func descriptorForChannel() throws(DatagramSocketError) -> CInt {
        try socket.duplicate()
    }

    /// Sends one datagram to `destination` without waiting, after ``DatagramDestination``
    /// accepted it (unless it is a `broadcast` the server chose); the error, if any, is
    /// returned and nothing else changes.
    func send(_ bytes: [UInt8], to destination: SocketAddress, broadcast: Bool = false) -> DatagramSocketError? {
        if !broadcast, let problem = DatagramDestination.problem(destination) { return DatagramSocketError(problem) }
        return socket.send(bytes, to: destination)
    }
}

/// Which addresses a datagram may be sent to. Nothing a client writes in a packet is sent to
/// as it stands: the unspecified network (`0.0.0.0/8`), multicast and reserved addresses
/// (`224.0.0.0/3`, which holds the limited broadcast a server chooses on its own) and port 0
/// make `sendto` fail or reach no one, and must be refused before the send.
public enum DatagramDestination {
    /// Why a datagram cannot go to `address`, or nil when it may.
    public static func problem(_ address: SocketAddress) -> String? {
        guard let port = address.port, port > 0 else { return "port 0 is not a destination" }
        switch address {
        case .v4(let v4):
            let first = UInt8(truncatingIfNeeded: UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24)
            if first == 0 { return "\(address.ipAddress ?? "?") is in 0.0.0.0/8, which is no destination" }
            if first >= 224 { return "\(address.ipAddress ?? "?") is a multicast, reserved or broadcast address" }
            return nil
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes.allSatisfy({ $0 == 0 }) { return "the unspecified IPv6 address is no destination" }
            if bytes[0] == 0xff { return "\(address.ipAddress ?? "?") is a multicast address" }
            return nil
        case .unixDomainSocket:
            return "not an IP address"
        }
    }
}

/// A datagram socket that could not be set up or could not send.
public struct DatagramSocketError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }

    init(_ step: String, errno code: CInt) { description = "\(step): \(String(cString: strerror(code)))" }
}
