import NIOCore
import NIOPosix
import Octets
import Synchronization

/// ProxyDHCP over SwiftNIO UDP: the DHCP port and the PXE boot-server port (4011), the
/// decisions of a ``ProxyDHCPResponder``. Malformed packets are dropped and counted; nothing
/// but a network-boot client ever gets an answer. Answers leave through ``ListenerSocket``:
/// an answer that cannot be sent is that answer's failure, counted, and never closes a
/// listener; a listener that closes for any other reason completes ``listenerClosed``.
public final class ProxyDHCPServer: BootListener {
    /// What the server has seen since it started.
    public struct Statistics: Sendable, Equatable {
        public var answered = 0
        public var ignored = 0
        public var malformed = 0
        /// Answers not sent: their destination was no address to send to (a forged relay
        /// address, a source port of 0), or the kernel refused them.
        public var undeliverable = 0

        /// All zero.
        public init() {}
    }

    private let channels: [any Channel]
    /// The sockets the channels read from; kept open until the channels are closed.
    private let sockets: [ListenerSocket]
    private let statistics: Counters
    public let listenerClosed: EventLoopFuture<Void>

    /// The counters, shared with the handlers.
    final class Counters: Sendable {
        private let value = Mutex(Statistics())
        func count(_ update: (inout Statistics) -> Void) { value.withLock { update(&$0) } }
        var snapshot: Statistics { value.withLock { $0 } }
    }

    /// The ports it listens on: (DHCP, boot server).
    public let ports: (dhcp: Int, bootServer: Int)

    /// Starts listening on `host`:`dhcpPort` and `host`:`bootServerPort` (0 picks free ports).
    ///
    /// A reply to a client without an address is broadcast, and a socket bound to the
    /// wildcard address has no interface for 255.255.255.255 unless a default route names
    /// one (and then it may be the wrong one). So when `host` is `0.0.0.0` and a
    /// `replyAddress` is given — Warden's address on the machines' network — a second socket
    /// on each port, bound to that address, sends every reply: the kernel sends a broadcast
    /// from a bound source address out of that address's interface.
    public static func start(
        host: String, dhcpPort: Int, bootServerPort: Int, replyAddress: String? = nil, responder: ProxyDHCPResponder,
        events: BootEventLog = .silent, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ProxyDHCPServer {
        let statistics = Counters()
        var channels: [any Channel] = []
        var sockets: [ListenerSocket] = []
        var ports: [Int] = []
        do {
            for (port, kind) in [(dhcpPort, ProxyDHCPResponder.Port.dhcp), (bootServerPort, .bootServer)] {
                var sender: ListenerSocket?
                var listenPort = port
                let paired = replyAddress != nil && host == "0.0.0.0"
                if let replyAddress, paired {
                    let socket = try ListenerSocket(
                        bindingTo: try SocketAddress(ipAddress: replyAddress, port: port), broadcast: true,
                        shared: true, receiveBuffer: receiveBuffer)
                    let bound = try await listen(
                        on: socket, kind, sender: socket, responder: responder, statistics: statistics, events: events,
                        group: group)
                    listenPort = bound.localAddress?.port ?? port
                    sockets.append(socket)
                    channels.append(bound)
                    sender = socket
                }
                let socket = try ListenerSocket(
                    bindingTo: try SocketAddress.makeAddressResolvingHost(host, port: listenPort), broadcast: true,
                    shared: paired, receiveBuffer: receiveBuffer)
                let listener = try await listen(
                    on: socket, kind, sender: sender ?? socket, responder: responder, statistics: statistics,
                    events: events, group: group)
                sockets.append(socket)
                channels.append(listener)
                ports.append(listener.localAddress?.port ?? 0)
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        return ProxyDHCPServer(
            channels: channels, sockets: sockets, ports: (ports[0], ports[1]), statistics: statistics)
    }

    /// A rack powering on at once is a burst of DISCOVERs; the default buffer holds about
    /// two hundred (the kernel caps this at net.core.rmem_max).
    private static let receiveBuffer = 4 << 20

    private static func listen(
        on socket: ListenerSocket, _ kind: ProxyDHCPResponder.Port, sender: ListenerSocket,
        responder: ProxyDHCPResponder,
        statistics: Counters, events: BootEventLog, group: any EventLoopGroup
    ) async throws -> any Channel {
        try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ProxyDHCPHandler(
                            responder: responder, port: kind, counters: statistics, sender: sender, events: events))
                }
            }
            .withBoundSocket(try socket.descriptorForChannel()).get()
    }

    private init(
        channels: [any Channel], sockets: [ListenerSocket], ports: (dhcp: Int, bootServer: Int), statistics: Counters
    ) {
        self.channels = channels
        self.sockets = sockets
        self.ports = ports
        self.statistics = statistics
        listenerClosed = FirstClosure.of(channels)
    }

    /// A snapshot of the counters.
    public var counters: Statistics { statistics.snapshot }

    public func closeListeners() {
        for channel in channels { channel.close(promise: nil) }
    }

    public func stop() async {
        for channel in channels { try? await channel.close() }
    }
}

private final class ProxyDHCPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let responder: ProxyDHCPResponder
    private let port: ProxyDHCPResponder.Port
    private let counters: ProxyDHCPServer.Counters
    /// The socket replies leave by.
    private let sender: ListenerSocket
    private let events: BootEventLog
    /// Undeliverable answers are said once a minute, with their count, not one line each.
    private var lastUndeliverableReport = NIODeadline.distantPast
    private var undeliverableSinceReport = 0

    init(
        responder: ProxyDHCPResponder, port: ProxyDHCPResponder.Port, counters: ProxyDHCPServer.Counters,
        sender: ListenerSocket, events: BootEventLog
    ) {
        self.responder = responder
        self.port = port
        self.counters = counters
        self.sender = sender
        self.events = events
    }

    private func count(_ update: (inout ProxyDHCPServer.Statistics) -> Void) { counters.count(update) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let request = try? DHCPPacket.parse(ArraySlice(envelope.data.readableBytesView)) else {
            count { $0.malformed += 1 }
            return
        }
        guard case .reply(let reply) = responder.decide(request, on: port) else {
            count { $0.ignored += 1 }
            return
        }
        let serverPort = context.channel.localAddress?.port ?? 0
        let destination: (address: SocketAddress, broadcast: Bool)
        switch ProxyDHCPDestination.of(request, from: envelope.remoteAddress, serverPort: serverPort) {
        case .success(let found): destination = found
        case .failure(let problem): return undeliverable(problem.description)
        }
        if let failure = sender.send(reply.bytes, to: destination.address, broadcast: destination.broadcast) {
            return undeliverable(failure.description)
        }
        count { $0.answered += 1 }
        events.record(
            "dhcp",
            "answered \(MACAddress(octets: request.clientHardwareAddress).map(\.description) ?? "?") on port \(serverPort): "
                + (reply.bootFile.isEmpty
                    ? String(decoding: reply.option(67) ?? Array("the boot-server menu".utf8), as: UTF8.self)
                    : reply.bootFile))
    }

    private func undeliverable(_ why: String) {
        count { $0.undeliverable += 1 }
        undeliverableSinceReport += 1
        let now = NIODeadline.now()
        guard now - lastUndeliverableReport >= .seconds(60) else { return }
        events.record(
            "dhcp",
            "answer not sent: \(why)"
                + (undeliverableSinceReport > 1 ? " (\(undeliverableSinceReport) unsent since the last report)" : ""))
        lastUndeliverableReport = now
        undeliverableSinceReport = 0
    }
}

/// Where a ProxyDHCP answer goes.
enum ProxyDHCPDestination {
    /// Where an answer goes: to a relay agent, at its address and the server port the
    /// request came to (67 or 4011; RFC 2131 4.1), never the port it claims to have sent
    /// from; to the client's address when it has one; else broadcast to the client port
    /// (68, or 4011 for a boot-server request). Addresses from the packet are checked first.
    static func of(_ request: DHCPPacket, from source: SocketAddress, serverPort: Int) -> Result<
        (address: SocketAddress, broadcast: Bool), DatagramSocketError
    > {
        do {
            if request.relayAddress != [0, 0, 0, 0] {
                let relay = try SocketAddress(
                    ipAddress: request.relayAddress.map(String.init).joined(separator: "."), port: serverPort)
                if let problem = DatagramDestination.problem(relay) {
                    return .failure(DatagramSocketError("relay address: \(problem)"))
                }
                return .success((relay, false))
            }
            if let address = source.ipAddress, address != "0.0.0.0" {
                if let problem = DatagramDestination.problem(source) {
                    return .failure(DatagramSocketError("source: \(problem)"))
                }
                return .success((source, false))
            }
            return .success(
                (try SocketAddress(ipAddress: "255.255.255.255", port: source.port == 4011 ? 4011 : 68), true))
        } catch {
            return .failure(DatagramSocketError("\(error)"))
        }
    }
}
