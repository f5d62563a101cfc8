import NIOCore

/// One part of a request, as ``ConnectionGuard`` needs to know it.
public enum GuardedRequestPart: Sendable {
    /// The whole head has arrived; the body declares this many bytes (nil: none declared).
    case head(declaredBodyLength: Int?)
    case body
    case end
}

/// How a connection's HTTP parts read, for ``ConnectionGuard``.
public protocol GuardedHTTPParts: SendableMetatype {
    associatedtype RequestPart
    associatedtype ResponsePart
    static func classify(_ part: RequestPart) -> GuardedRequestPart
    static func isEnd(_ part: ResponsePart) -> Bool
}

/// How long each wait of a connection may last. No deadline restarts on a byte: a client
/// trickling its request one byte at a time gets no more time than one that sends nothing.
public struct ConnectionTimeouts: Sendable {
    /// The TLS handshake, from the connection's start (nil: plain HTTP, no handshake).
    public var handshake: TimeAmount?
    /// The next request's whole head, from the handshake or the end of the last response.
    public var idle: TimeAmount
    /// A request's body, from its head: this, plus one second per `minimumBodyRate` bytes
    /// it declares (`assumedBodyLength` when it declares none).
    public var body: TimeAmount
    public var minimumBodyRate: Int
    public var assumedBodyLength: Int

    public init(
        handshake: TimeAmount?, idle: TimeAmount, body: TimeAmount, minimumBodyRate: Int, assumedBodyLength: Int
    ) {
        self.handshake = handshake
        self.idle = idle
        self.body = body
        self.minimumBodyRate = minimumBodyRate
        self.assumedBodyLength = assumedBodyLength
    }

    /// The time a body of `length` bytes may take.
    func body(declaring length: Int?) -> TimeAmount {
        let seconds = Int64((length ?? assumedBodyLength) / max(1, minimumBodyRate))
        return body + .seconds(seconds)
    }
}

/// Holds one HTTP connection to its place in a ``ConnectionLimiter`` and to its deadlines:
/// its source's turn (it reads nothing before it, and a ``TurnGate`` drops what the end of
/// a half-closed stream makes the channel read, so no TLS handshake starts early), then the
/// TLS handshake, each request's head, each request's body. A response is not timed
/// (a request is under way, and the limiter's per-source bound caps those). A response
/// sent before its request's body arrived ends the connection, so that an unread body
/// (a refusal before reading, say) is never drained at the client's pace.
///
/// It also bounds what one connection holds in memory: it reads at most ``readSize`` bytes
/// at a time, so that a request part waiting for its handler holds that much, not a batch of
/// reads; and once it has decided to close a connection it reads nothing more and passes on
/// nothing it already read — a client that keeps sending into a closing connection (a TLS
/// close waits for the peer's answer) costs nothing.
///
/// It sits after the HTTP codec, so it sees whole heads; the handshake's end reaches it as
/// the TLS handler's user event, which `isHandshakeCompletion` recognises.
public final class ConnectionGuard<Parts: GuardedHTTPParts>: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = Parts.RequestPart
    public typealias InboundOut = Parts.RequestPart
    public typealias OutboundIn = Parts.ResponsePart
    public typealias OutboundOut = Parts.ResponsePart

    private enum Phase {
        case starting, queued, handshake, idle, body, responding, closed
    }

    /// The most read from the socket at once (a TLS record is at most 16 KiB).
    public static var readSize: Int { 16 * 1024 }

    private let limiter: ConnectionLimiter
    private let timeouts: ConnectionTimeouts
    private let isHandshakeCompletion: (@Sendable (Any) -> Bool)?
    private var phase = Phase.starting
    /// Whether this guard closed the connection: nothing more is read or passed on.
    private var closing = false
    private var deadline: Scheduled<Void>?
    /// Whether the last request's end has arrived.
    private var requestComplete = true
    /// Whether a read was asked for before the connection's turn came.
    private var readDeferred = false
    /// At the pipeline's head while the connection waits for its turn.
    private var gate: TurnGate?

    public init(
        limiter: ConnectionLimiter, timeouts: ConnectionTimeouts,
        isHandshakeCompletion: (@Sendable (Any) -> Bool)? = nil
    ) {
        self.limiter = limiter
        self.timeouts = timeouts
        self.isHandshakeCompletion = isHandshakeCompletion
    }

    private var id: ObjectIdentifier { ObjectIdentifier(self) }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { open(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        open(context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        leave(context)
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) { leave(context) }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if phase == .handshake, isHandshakeCompletion?(event) == true { enter(.idle, context) }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch Parts.classify(unwrapInboundIn(data)) {
        case .head(let length):
            requestComplete = false
            enter(.body, context, bodyLength: length)
        case .body:
            break
        case .end:
            requestComplete = true
            if phase == .body { enter(.responding, context) }
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard Parts.isEnd(unwrapOutboundIn(data)) else { return context.write(data, promise: promise) }
        let written = promise ?? context.eventLoop.makePromise()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in
            let (handler, context) = loopBound.value
            guard handler.phase != .closed else { return }
            if handler.requestComplete { handler.enter(.idle, context) } else { handler.close(context) }
        }
        context.write(data, promise: written)
    }

    public func read(context: ChannelHandlerContext) {
        if closing { return }
        if phase == .starting || phase == .queued {
            readDeferred = true
        } else {
            context.read()
        }
    }

    private func open(_ context: ChannelHandlerContext) {
        guard phase == .starting else { return }
        guard
            let wait = limiter.admit(
                id, source: context.channel.remoteAddress?.ipAddress ?? "?", channel: context.channel,
                longestWait: timeouts.handshake ?? timeouts.idle)
        else {
            phase = .closed
            close(context)
            return
        }
        if let options = context.channel.syncOptions {
            try? options.setOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.readSize))
            try? options.setOption(.maxMessagesPerRead, value: 1)
        }
        guard wait > .zero else { return start(context) }
        phase = .queued
        let gate = TurnGate()
        try? context.pipeline.syncOperations.addHandler(gate, position: .first)
        self.gate = gate
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: wait) {
            let (handler, context) = loopBound.value
            if handler.phase == .queued { handler.start(context) }
        }
    }

    /// The connection's turn has come: its first deadline runs, and it reads.
    private func start(_ context: ChannelHandlerContext) {
        if let gate {
            context.pipeline.syncOperations.removeHandler(gate, promise: nil)
            self.gate = nil
        }
        enter(timeouts.handshake == nil ? .idle : .handshake, context)
        if readDeferred {
            readDeferred = false
            context.read()
        }
    }

    /// Closes the connection; from now on it reads nothing more.
    private func close(_ context: ChannelHandlerContext) {
        closing = true
        context.close(promise: nil)
    }

    private func leave(_ context: ChannelHandlerContext) {
        guard phase != .closed else { return }
        let admitted = phase != .starting
        phase = .closed
        deadline?.cancel()
        if admitted { limiter.remove(id) }
    }

    private func enter(_ next: Phase, _ context: ChannelHandlerContext, bodyLength: Int? = nil) {
        guard phase != .closed else { return }
        phase = next
        deadline?.cancel()
        deadline = nil
        let limit: TimeAmount? =
            switch next {
            case .handshake: timeouts.handshake
            case .idle: timeouts.idle
            case .body: timeouts.body(declaring: bodyLength)
            case .starting, .queued, .responding, .closed: nil
            }
        limiter.setWaiting(id, next == .handshake || next == .idle)
        guard let limit else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: limit) {
            let (handler, context) = loopBound.value
            guard handler.phase == next else { return }
            handler.limiter.countTimeout()
            handler.close(context)
        }
    }
}
