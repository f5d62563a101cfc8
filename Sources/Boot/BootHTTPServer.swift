import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Warden's boot HTTP server (SwiftNIO, plain HTTP as iPXE and UEFI HTTP Boot speak it):
/// `/boot.ipxe` answers each machine with the script its enrolment record calls for; every
/// other path is a file — firmware from the boot file root, images under `/images/` — sent
/// zero-copy (`sendfile`) with an exact `Content-Length`, `HEAD`, one `Range`, `ETag` and
/// `If-None-Match`, never chunked and never redirected. Over its script bound it answers
/// `503` with `Retry-After`, which iPXE honours, instead of letting clients time out.
/// Its connections are bounded in total and per source address, and each request's head
/// must arrive whole within ``Settings/idleSeconds`` (``ConnectionGuard``).
public final class BootHTTPServer: BootListener {
    /// Bounds and names.
    public struct Settings: Sendable {
        /// Connections at once (see ``ConnectionLimiter``), and from one source address.
        public var maxConnections = 1_024
        public var maxConnectionsPerSource = 32
        /// Look-ups waiting off the event loop at once — a script needs the store, a file's
        /// first look-up may hash a whole image; further ones get 503.
        public var maxPendingLookups = 128
        /// What `Retry-After` says, in seconds.
        public var retryAfterSeconds = 2
        /// Seconds within which a request's whole head must arrive (after the connection
        /// opens or the last response ends); bytes trickling in do not extend it.
        public var idleSeconds: Int64 = 30
        /// Longest request target accepted (414 beyond).
        public var maxTargetLength = 2_048

        public init() {}
    }

    /// What the server has answered since it started.
    public struct Statistics: Sendable, Equatable {
        public var scripts = 0
        public var files = 0
        public var notModified = 0
        public var refused = 0
        public var overloaded = 0
        /// Refusals by HTTP status code.
        public var refusedByStatus: [Int: Int] = [:]
        /// Body bytes of files sent whole or in part.
        public var bytesSent = 0

        /// All zero.
        public init() {}
    }

    private let channel: any Channel
    let state: SharedState
    /// Its connections, bounded.
    public let connections: ConnectionLimiter
    public let listenerClosed: EventLoopFuture<Void>

    /// The port it listens on.
    public var port: Int { channel.localAddress?.port ?? 0 }

    /// A snapshot of the counters.
    public var statistics: Statistics { state.statistics.withLock { $0 } }

    /// Connections open now.
    public var connectionCount: Int { connections.count }

    /// Starts listening on `host`:`port` (0 picks a free port).
    public static func start(
        host: String, port: Int, firmware: any BootFileSource, images: (any BootFileSource)?,
        scripts: any BootScriptSource,
        settings: Settings, events: BootEventLog = .silent,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> BootHTTPServer {
        let state = SharedState(
            firmware: firmware, images: images, scripts: scripts, settings: settings, events: events)
        let connections = ConnectionLimiter(
            .init(total: settings.maxConnections, perSource: settings.maxConnectionsPerSource))
        // Boot paths take no body: one declared is given the head's time again to arrive.
        let timeouts = ConnectionTimeouts(
            handshake: nil, idle: .seconds(settings.idleSeconds), body: .seconds(settings.idleSeconds),
            minimumBodyRate: 64 * 1024, assumedBodyLength: 0)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(ConnectionGuard<NIOHTTP1Parts>(limiter: connections, timeouts: timeouts))
                    try pipeline.addHandler(BootHTTPHandler(state: state))
                }
            }
        do {
            return BootHTTPServer(
                channel: try await bootstrap.bind(host: host, port: port).get(), state: state, connections: connections)
        } catch {
            try? await state.fileLookups.shutdownGracefully()
            throw error
        }
    }

    private init(channel: any Channel, state: SharedState, connections: ConnectionLimiter) {
        self.channel = channel
        self.state = state
        self.connections = connections
        listenerClosed = FirstClosure.of([channel])
    }

    public func closeListeners() { channel.close(promise: nil) }

    /// Stops listening; responses under way finish, and the file pool once its look-ups have.
    public func stop() async {
        try? await channel.close()
        try? await state.fileLookups.shutdownGracefully()
    }

    /// What the listener's connections share.
    final class SharedState: Sendable {
        let firmware: any BootFileSource
        let images: (any BootFileSource)?
        let scripts: any BootScriptSource
        let settings: Settings
        let events: BootEventLog
        let statistics = Mutex(Statistics())
        let pendingLookups = Atomic<Int>(0)
        /// Where files are found and images hashed, apart from the scripts' pool: two
        /// images hashed at once leave every boot script answered.
        let fileLookups = NIOThreadPool(numberOfThreads: 2)

        init(
            firmware: any BootFileSource, images: (any BootFileSource)?, scripts: any BootScriptSource,
            settings: Settings, events: BootEventLog
        ) {
            self.firmware = firmware
            self.images = images
            self.scripts = scripts
            self.settings = settings
            self.events = events
            fileLookups.start()
        }

        func count(_ update: (inout Statistics) -> Void) { statistics.withLock { update(&$0) } }
    }
}

/// NIOHTTP1's parts, as ``ConnectionGuard`` reads them.
enum NIOHTTP1Parts: GuardedHTTPParts {
    static func classify(_ part: HTTPServerRequestPart) -> GuardedRequestPart {
        switch part {
        case .head(let head): .head(declaredBodyLength: head.headers.first(name: "Content-Length").flatMap { Int($0) })
        case .body: .body
        case .end: .end
        }
    }

    static func isEnd(_ part: HTTPServerResponsePart) -> Bool {
        if case .end = part { true } else { false }
    }
}
