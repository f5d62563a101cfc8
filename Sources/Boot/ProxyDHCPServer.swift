import NIOCore
import NIOPosix
import Synchronization

/// ProxyDHCP over SwiftNIO UDP: the DHCP port and the PXE boot-server port (4011), the
/// decisions of a ``ProxyDHCPResponder``. Malformed packets are dropped and counted; nothing
/// but a network-boot client ever gets an answer.
public final class ProxyDHCPServer: Sendable {
    /// What the server has seen since it started.
    public struct Statistics: Sendable, Equatable {
        public var answered = 0
        public var ignored = 0
        public var malformed = 0
    }

    private let channels: [any Channel]
    private let statistics: Counters

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
    public static func start(host: String, dhcpPort: Int, bootServerPort: Int, replyAddress: String? = nil, responder: ProxyDHCPResponder,
                             events: BootEventLog = .silent, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> ProxyDHCPServer {
        let statistics = Counters()
        var channels: [any Channel] = []
        var ports: [Int] = []
        for (port, kind) in [(dhcpPort, ProxyDHCPResponder.Port.dhcp), (bootServerPort, .bootServer)] {
            var sender: (any Channel)?
            var listenPort = port
            if let replyAddress, host == "0.0.0.0" {
                let bound = try await bind(replyAddress, port, kind, sender: nil, responder: responder, statistics: statistics, events: events, group: group)
                listenPort = bound.localAddress?.port ?? port
                channels.append(bound)
                sender = bound
            }
            let listener = try await bind(host, listenPort, kind, sender: sender, responder: responder, statistics: statistics, events: events, group: group)
            channels.append(listener)
            ports.append(listener.localAddress?.port ?? 0)
        }
        return ProxyDHCPServer(channels: channels, ports: (ports[0], ports[1]), statistics: statistics)
    }

    private static func bind(_ host: String, _ port: Int, _ kind: ProxyDHCPResponder.Port, sender: (any Channel)?, responder: ProxyDHCPResponder,
                             statistics: Counters, events: BootEventLog, group: any EventLoopGroup) async throws -> any Channel {
        try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_broadcast), value: 1)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // A rack powering on at once is a burst of DISCOVERs; the default buffer
            // holds about two hundred (the kernel caps this at net.core.rmem_max).
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ProxyDHCPHandler(responder: responder, port: kind, counters: statistics, sender: sender, events: events))
                }
            }
            .bind(host: host, port: port).get()
    }

    private init(channels: [any Channel], ports: (dhcp: Int, bootServer: Int), statistics: Counters) {
        self.channels = channels
        self.ports = ports
        self.statistics = statistics
    }

    /// A snapshot of the counters.
    public var counters: Statistics { statistics.snapshot }

    public func stop() async {
        for channel in channels { try? await channel.close() }
    }
}

private final class ProxyDHCPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let responder: ProxyDHCPResponder
    private let port: ProxyDHCPResponder.Port
    private let counters: ProxyDHCPServer.Counters
    /// The socket replies leave by, when it is not this one.
    private let sender: (any Channel)?
    private let events: BootEventLog

    init(responder: ProxyDHCPResponder, port: ProxyDHCPResponder.Port, counters: ProxyDHCPServer.Counters, sender: (any Channel)?, events: BootEventLog) {
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
        guard let destination = destination(for: request, from: envelope.remoteAddress) else {
            count { $0.ignored += 1 }
            return
        }
        count { $0.answered += 1 }
        events.record("dhcp", "answered \(BootEventLog.mac(request.clientHardwareAddress)) on port \(context.channel.localAddress?.port ?? 0): "
            + (reply.bootFile.isEmpty ? String(decoding: reply.option(67) ?? Array("the boot-server menu".utf8), as: UTF8.self) : reply.bootFile))
        let answer = AddressedEnvelope(remoteAddress: destination, data: context.channel.allocator.buffer(bytes: reply.bytes))
        if let sender { sender.writeAndFlush(answer, promise: nil) } else { context.writeAndFlush(wrapOutboundOut(answer), promise: nil) }
    }

    /// Through the relay when there is one; to the client's address when it has one; else
    /// broadcast to the port it sent from (68 on a real network).
    private func destination(for request: DHCPPacket, from source: SocketAddress) -> SocketAddress? {
        if request.relayAddress != [0, 0, 0, 0] {
            return try? SocketAddress(ipAddress: request.relayAddress.map(String.init).joined(separator: "."), port: source.port ?? 67)
        }
        if let address = source.ipAddress, address != "0.0.0.0" { return source }
        return try? SocketAddress(ipAddress: "255.255.255.255", port: source.port ?? 68)
    }
}
