import NIOCore
import NIOPosix
import Synchronization

/// Warden's read-only TFTP server (SwiftNIO UDP): requests arrive on the well-known port
/// and each transfer runs on its own ephemeral port (its transfer ID), from the address the
/// request was sent to. Options per RFC 2347–2349 and windows per RFC 7440; bounds on
/// transfers at once, in all and per client address; files from a ``BootFileRoot``. The
/// listener and its transfers run on an event loop of their own, so that a transfer polling
/// for its client's answer never holds up the other boot services.
///
/// Anyone on the boot network can send requests, with any source address, and never
/// answer: a transfer whose client has not acknowledged its first packet within
/// ``Settings/startTimeout`` is given up, and when every slot is taken the oldest such
/// transfer makes room for a new request, so forged requests cannot keep a real client out.
public final class TFTPServer: BootListener {
    /// What the server has done since it started.
    public struct Statistics: Sendable, Equatable {
        public var started = 0
        public var completed = 0
        /// Transfers that ended at the option acknowledgement telling the size (UEFI asks first).
        public var sizeQueries = 0
        public var failed = 0
        /// Transfers given up because their client never acknowledged the first packet, or
        /// ended to make room while still waiting for that (also counted as failed).
        public var abandoned = 0
        public var refused = 0
        public var malformed = 0
        /// Answers read by polling a transfer's socket rather than through the event loop.
        public var polledAnswers = 0
        /// Bytes of the files whose transfers completed.
        public var bytesSent = 0

        /// All zero.
        public init() {}
    }

    /// Settings beyond the root.
    public struct Settings: Sendable {
        public var limits = TFTPNegotiation.Limits()
        /// Transfers at once; when all run, a request takes the place of the oldest transfer
        /// not yet acknowledged, or is refused.
        public var maxTransfers = 1_024
        /// Transfers at once to one client address; further requests are refused.
        public var maxTransfersPerSource = 16
        /// How long a client has to acknowledge a transfer's first packet.
        public var startTimeout = TimeAmount.seconds(5)
        public init() {}
    }

    private let channel: any Channel
    private let socket: ListenerSocket
    private let loop: MultiThreadedEventLoopGroup
    let state: SharedState
    public let listenerClosed: EventLoopFuture<Void>

    /// The port requests are received on.
    public var port: Int { channel.localAddress?.port ?? 0 }

    /// Starts listening on `host`:`port` (0 picks a free port).
    public static func start(
        host: String, port: Int, root: BootFileRoot, settings: Settings = Settings(), events: BootEventLog = .silent
    ) async throws -> TFTPServer {
        let state = SharedState(root: root, settings: settings, events: events)
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let socket = try ListenerSocket(
                bindingTo: try SocketAddress.makeAddressResolvingHost(host, port: port), broadcast: false,
                shared: false, receiveBuffer: 4 << 20)
            let channel = try await DatagramBootstrap(group: loop)
                .channelOption(.receivePacketInfo, value: true)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RequestHandler(state: state, socket: socket))
                    }
                }
                .withBoundSocket(try socket.descriptorForChannel()).get()
            return TFTPServer(channel: channel, socket: socket, loop: loop, state: state)
        } catch {
            try? await state.fileReads.shutdownGracefully()
            try? await loop.shutdownGracefully()
            throw error
        }
    }

    private init(channel: any Channel, socket: ListenerSocket, loop: MultiThreadedEventLoopGroup, state: SharedState) {
        self.channel = channel
        self.socket = socket
        self.loop = loop
        self.state = state
        listenerClosed = FirstClosure.of([channel])
    }

    public func closeListeners() { channel.close(promise: nil) }

    /// Stops listening and ends the transfers under way.
    public func stop() async {
        try? await channel.close()
        // Reads under way finish and hand their result to the loop, which is still running.
        try? await state.fileReads.shutdownGracefully()
        try? await loop.shutdownGracefully()
    }

    /// A snapshot of the counters.
    public var statistics: Statistics { state.statistics.withLock { $0 } }

    /// What the listener and its transfers share.
    final class SharedState: Sendable {
        let root: BootFileRoot
        let settings: Settings
        let events: BootEventLog
        let statistics = Mutex(Statistics())
        /// Files read for the first time, off the event loop, on a thread of the server's
        /// own (stopped before its loop, so no read outlives the loop it answers on).
        let fileReads = NIOThreadPool(numberOfThreads: 1)
        /// Transfers under way (also in ``slots``, read here without the lock).
        let active = Atomic<Int>(0)
        private let slots = Mutex(TransferSlots())
        /// DATA packets by file name and block size, shared by the transfers of that file.
        private let packets = Mutex<[String: TFTPDataPackets]>([:])
        /// Shared packet sets kept at most, and their bytes: the block sizes firmware asks
        /// for are few, and a client choosing odd ones must not make the server keep a copy
        /// of a file per size. Beyond, transfers build each packet as they send it.
        static let maxSharedPacketSets = 8
        static let maxSharedPacketBytes = 64 << 20

        init(root: BootFileRoot, settings: Settings, events: BootEventLog) {
            self.root = root
            self.settings = settings
            self.events = events
            fileReads.start()
        }

        func count(_ update: (inout Statistics) -> Void) { statistics.withLock { update(&$0) } }

        /// Transfers by client address, and those whose client has not acknowledged anything yet.
        private struct TransferSlots {
            var bySource: [String: Int] = [:]
            var unacknowledged: [ObjectIdentifier: (started: NIODeadline, channel: any Channel)] = [:]
        }

        /// Why a request gets no transfer.
        enum Refusal: Error {
            case sourceBusy(Int)
            case busy(Int)
        }

        /// Takes a slot for a transfer to `source`: within its address's bound, and within
        /// the total, making room by ending the oldest transfer no client has acknowledged.
        func admit(_ source: String) -> Result<Void, Refusal> {
            let (result, victim): (Result<Void, Refusal>, (any Channel)?) = slots.withLock { slots in
                let fromSource = slots.bySource[source, default: 0]
                guard fromSource < settings.maxTransfersPerSource else {
                    return (.failure(.sourceBusy(fromSource)), nil)
                }
                var victim: (any Channel)?
                if active.load(ordering: .relaxed) >= settings.maxTransfers {
                    guard let oldest = slots.unacknowledged.min(by: { $0.value.started < $1.value.started }) else {
                        return (.failure(.busy(settings.maxTransfers)), nil)
                    }
                    slots.unacknowledged[oldest.key] = nil
                    victim = oldest.value.channel
                }
                slots.bySource[source] = fromSource + 1
                active.add(1, ordering: .relaxed)
                return (.success(()), victim)
            }
            if let victim {
                count { $0.abandoned += 1 }
                victim.close(promise: nil)
            }
            return result
        }

        /// Marks transfer `id` as waiting for its client's first acknowledgement, or not.
        func awaitingAcknowledgement(_ id: ObjectIdentifier, channel: (any Channel)?) {
            slots.withLock { $0.unacknowledged[id] = channel.map { (NIODeadline.now(), $0) } }
        }

        /// A transfer to `source` ended (or never began): its slot is free, counted by `outcome`.
        func transferEnded(_ id: ObjectIdentifier?, source: String, counting outcome: (inout Statistics) -> Void) {
            slots.withLock { slots in
                if let id { slots.unacknowledged[id] = nil }
                let left = slots.bySource[source, default: 1] - 1
                slots.bySource[source] = left > 0 ? left : nil
                active.subtract(1, ordering: .relaxed)
            }
            count(outcome)
        }

        /// The DATA packets of `contents` (the root's copy of `name`) at `blockSize`: the
        /// shared set, built the first time a transfer needs it while the cache has room;
        /// otherwise packets built as they are sent.
        func dataPackets(_ name: String, _ contents: [UInt8], blockSize: Int) -> TFTPDataPackets {
            let key = "\(blockSize)/\(name)"
            let (cached, room) = packets.withLock { cache in
                (
                    cache[key],
                    cache.count < Self.maxSharedPacketSets
                        && cache.values.reduce(contents.count + contents.count / blockSize * 4 + 4, { $0 + $1.size })
                            <= Self.maxSharedPacketBytes
                )
            }
            if let cached { return cached }
            guard room else { return TFTPDataPackets(file: contents, blockSize: blockSize, shared: false) }
            let built = TFTPDataPackets(file: contents, blockSize: blockSize)
            return packets.withLock { cache in
                if let raced = cache[key] { return raced }
                cache[key] = built
                return built
            }
        }
    }
}

/// Answers requests on the well-known port; each accepted read starts a transfer channel.
/// Refusals leave through the listener's socket (``ListenerSocket``), so one to an
/// address no datagram can reach never closes the listener.
private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let state: TFTPServer.SharedState
    private let socket: ListenerSocket
    /// Requests waiting for a file's first read, by name: one read serves them all (the
    /// handler runs on the server's one loop, so these need no lock).
    private var waiting: [String: [(options: [TFTPOption], envelope: AddressedEnvelope<ByteBuffer>)]] = [:]
    private var waitingCount = 0
    /// Distinct files read at most at once; requests waiting for reads at most.
    private static let maxFilesRead = 16

    init(state: TFTPServer.SharedState, socket: ListenerSocket) {
        self.state = state
        self.socket = socket
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let client = envelope.remoteAddress
        let packet: TFTPPacket
        do { packet = try TFTPPacket.parse(ArraySlice(envelope.data.readableBytesView)) } catch {
            state.count { $0.malformed += 1 }
            refuse(client, .illegalOperation, "malformed request: \(error)")
            return
        }
        switch packet {
        case .readRequest(let file, _, let options):
            if let contents = state.root.cachedFile(file) {
                return serve(file, contents, options, envelope, context: context)
            }
            // A file's first read leaves the event loop: the loop keeps answering while a
            // large file comes off the disk, and requests for it meanwhile wait for that read.
            let reading = waiting[file] != nil
            guard waitingCount < state.settings.maxTransfers, reading || waiting.count < Self.maxFilesRead else {
                state.count { $0.refused += 1 }
                return refuse(client, .undefined, "server busy: files are being read; retry")
            }
            waiting[file, default: []].append((options, envelope))
            waitingCount += 1
            if !reading { read(file, context: context) }
        case .writeRequest:
            state.count { $0.refused += 1 }
            refuse(client, .accessViolation, "this server is read-only")
        case .error:
            return  // RFC 1350: an error is never answered (two servers would answer each other for ever)
        default:
            refuse(client, .unknownTransferID, "no transfer on this port")
        }
    }

    /// Reads `file` on the server's file thread, then answers every request waiting for it.
    private func read(_ file: String, context: ChannelHandlerContext) {
        let state = self.state
        state.fileReads.runIfActive(eventLoop: context.eventLoop) { try state.root.file(file) }
            .assumeIsolated()
            .whenComplete { result in
                let requests = self.waiting.removeValue(forKey: file) ?? []
                self.waitingCount -= requests.count
                for request in requests {
                    switch result {
                    case .success(let contents):
                        self.serve(file, contents, request.options, request.envelope, context: context)
                    case .failure(let error):
                        state.count { $0.refused += 1 }
                        let forbidden = if case .forbidden? = error as? BootFileRoot.Refusal { true } else { false }
                        self.refuse(
                            request.envelope.remoteAddress, forbidden ? .accessViolation : .fileNotFound, "\(error)")
                    }
                }
            }
    }

    /// Starts the transfer of `file` (its `contents`) that `envelope` asked for, within the
    /// bounds on transfers.
    private func serve(
        _ file: String, _ contents: [UInt8], _ options: [TFTPOption], _ envelope: AddressedEnvelope<ByteBuffer>,
        context: ChannelHandlerContext
    ) {
        let client = envelope.remoteAddress
        if let problem = DatagramDestination.problem(client) {
            state.count { $0.refused += 1 }
            state.events.record("tftp", "\(file) requested from an address no answer can reach: \(problem)")
            return
        }
        let source = client.ipAddress ?? "?"
        switch state.admit(source) {
        case .failure(.sourceBusy(let count)):
            state.count { $0.refused += 1 }
            return refuse(client, .undefined, "server busy: \(count) transfers to this address under way")
        case .failure(.busy(let count)):
            state.count { $0.refused += 1 }
            return refuse(client, .undefined, "server busy: \(count) transfers under way")
        case .success:
            break
        }
        state.count { $0.started += 1 }
        let negotiation = TFTPNegotiation(requested: options, fileSize: contents.count, limits: state.settings.limits)
        let local = envelope.metadata?.packetInfo?.destinationAddress ?? context.channel.localAddress
        let granted =
            negotiation.acknowledged.isEmpty
            ? "no options" : negotiation.acknowledged.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
        startTransfer(
            TFTPTransfer(fileSize: contents.count, negotiation: negotiation),
            packets: state.dataPackets(file, contents, blockSize: negotiation.blockSize),
            named: "\(file) (\(granted))", to: client, from: local, on: context.eventLoop)
    }

    private func startTransfer(
        _ transfer: TFTPTransfer, packets: TFTPDataPackets, named name: String, to client: SocketAddress,
        from local: SocketAddress?, on loop: any EventLoop
    ) {
        let state = self.state
        let source = client.ipAddress ?? "?"
        let socket: TFTPTransferSocket
        do {
            guard let local else { throw DatagramSocketError("the request's destination address is unknown") }
            socket = try TFTPTransferSocket(local: local, client: client)
        } catch {
            state.transferEnded(nil, source: source) { $0.failed += 1 }
            state.events.record("tftp", "\(name) to \(source): failed, \(error)")
            return
        }
        DatagramBootstrap(group: loop)
            // A transfer's client sends one packet, then waits: reading one datagram per
            // wake-up spares the read that would only find the socket empty. Later ones
            // wait in the socket, and the (level-triggered) poll wakes the loop for them.
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        TransferHandler(
                            transfer: transfer, packets: packets, socket: socket, name: name, client: client,
                            state: state))
                }
            }
            .withBoundSocket(socket.descriptor)
            .whenComplete { result in
                switch result {
                case .success(let channel): channel.pipeline.fireUserInboundEventTriggered(TransferHandler.Registered())
                case .failure: state.transferEnded(nil, source: source) { $0.failed += 1 }
                }
            }
    }

    private func refuse(_ client: SocketAddress, _ code: TFTPErrorCode, _ message: String) {
        _ = socket.send(TFTPPacket.error(code, message: String(message.prefix(200))).bytes, to: client)
    }
}

/// One transfer on its own port: feeds the state machine, sends what it answers on the
/// transfer's socket, and runs its timer. While it is the only transfer under way and its
/// client answers within ``promptAnswer``, it waits for each answer by polling the socket
/// rather than returning to the event loop (see ``TFTPTransferSocket/receive(into:within:)``).
private final class TransferHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// How long a prompt client takes at most to answer: polling longer would spend more
    /// than the event loop's wake-up it spares.
    static let promptAnswer = TimeAmount.microseconds(50)
    /// Answers handled in one go before the event loop gets to run its other channels.
    static let answersPerTurn = 64

    private var transfer: TFTPTransfer
    private let packets: TFTPDataPackets
    private var socket: TFTPTransferSocket
    /// The file sent, for the event log.
    private let name: String
    private let client: SocketAddress
    private let state: TFTPServer.SharedState
    private var timer: Scheduled<Void>?
    /// Gives the transfer up unless its client acknowledges the first packet in time.
    private var startTimer: Scheduled<Void>?
    /// When the timer should fire: the transfer's timeout after its last step.
    private var deadline = NIODeadline.now()
    /// When the last packet was sent, to tell whether the client answers promptly.
    private var lastSent = NIODeadline.now()
    /// Whether the client's last answer came within ``promptAnswer``.
    private var answersPromptly = true
    /// Where polled answers are read.
    private var answer = [UInt8](repeating: 0, count: TFTPTransferSocket.largestAnswer)
    /// Answers read by polling, counted into the statistics when the transfer ends.
    private var polled = 0
    /// Whether the socket once took less than it was given: from then on packets go through
    /// the channel, which sends them in order as the socket can take them.
    private var sendsThroughChannel = false
    private var over = false

    init(
        transfer: TFTPTransfer, packets: TFTPDataPackets, socket: TFTPTransferSocket, name: String,
        client: SocketAddress, state: TFTPServer.SharedState
    ) {
        self.transfer = transfer
        self.packets = packets
        self.socket = socket
        self.name = name
        self.client = client
        self.state = state
    }

    /// The channel is registered on the transfer's socket: the transfer starts.
    struct Registered {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Registered else { return context.fireUserInboundEventTriggered(event) }
        state.awaitingAcknowledgement(ObjectIdentifier(self), channel: context.channel)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        startTimer = context.eventLoop.scheduleTask(in: state.settings.startTimeout) {
            let (handler, context) = loopBound.value
            handler.abandonUnlessAcknowledged(context: context)
        }
        apply(transfer.start(), context: context)
        handlePromptAnswers(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        answersPromptly = NIODeadline.now() - lastSent <= Self.promptAnswer
        handle(ArraySlice(unwrapInboundIn(data).data.readableBytesView), context: context)
        handlePromptAnswers(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        startTimer?.cancel()
        if !over { end { $0.failed += 1 } }
        context.fireChannelInactive()
    }

    /// The client has not acknowledged the first packet in time: it may be no client at
    /// all, only a forged request, so the transfer is given up rather than retransmitted.
    private func abandonUnlessAcknowledged(context: ChannelHandlerContext) {
        guard !over, !transfer.acknowledgedOnce else { return }
        timer?.cancel()
        end {
            $0.failed += 1
            $0.abandoned += 1
        }
        state.events.record(
            "tftp",
            "\(name) to \(client.ipAddress ?? "?"): given up, the first packet was not acknowledged within \(state.settings.startTimeout.nanoseconds / 1_000_000_000) s"
        )
        context.close(promise: nil)
    }

    /// Handles answers caught by polling, while the client answers promptly and no other
    /// transfer waits for the loop.
    private func handlePromptAnswers(context: ChannelHandlerContext) {
        for _ in 0..<Self.answersPerTurn {
            guard !over, answersPromptly, state.active.load(ordering: .relaxed) == 1 else { return }
            guard let count = socket.receive(into: &answer, within: Self.promptAnswer) else {
                answersPromptly = false
                return
            }
            polled += 1
            handle(answer[..<count], context: context)
        }
    }

    private func handle(_ bytes: ArraySlice<UInt8>, context: ChannelHandlerContext) {
        guard let packet = try? TFTPPacket.parse(bytes) else {
            state.count { $0.malformed += 1 }
            return
        }
        let waited = !transfer.acknowledgedOnce
        let step = transfer.receive(packet)
        if waited && transfer.acknowledgedOnce {
            startTimer?.cancel()
            state.awaitingAcknowledgement(ObjectIdentifier(self), channel: nil)
        }
        apply(step, context: context)
    }

    private func apply(_ step: TFTPTransfer.Step, context: ChannelHandlerContext) {
        for packet in step.send { send(ByteBuffer(bytes: packet), datagramSize: packet.count, context: context) }
        if let blocks = step.blocks {
            send(packets.packets(blocks), datagramSize: packets.datagramSize, context: context)
        }
        if !step.send.isEmpty || step.blocks != nil { lastSent = .now() }
        if step.finished {
            timer?.cancel()
            end {
                if step.sizeQuery {
                    $0.sizeQueries += 1
                } else if step.failure == nil {
                    $0.completed += 1
                    $0.bytesSent += transfer.fileSize
                } else {
                    $0.failed += 1
                }
            }
            let outcome =
                step.sizeQuery
                ? "size told; the client fetches it next" : step.failure.map { "failed, \($0)" } ?? "sent"
            state.events.record("tftp", "\(name) to \(client.ipAddress ?? "?"): " + outcome)
            context.close(promise: nil)
            return
        }
        // Every step moves the deadline; the one timer only looks at it when it fires, so
        // a packet costs no timer cancelled and scheduled anew.
        deadline = lastSent + .seconds(Int64(transfer.timeoutSeconds))
        if timer == nil { arm(context) }
    }

    /// Sends `packets`, datagrams of `datagramSize` bytes, on the socket at once; what it
    /// cannot take goes through the channel.
    private func send(_ packets: ByteBuffer, datagramSize: Int, context: ChannelHandlerContext) {
        var rest = sendsThroughChannel ? packets : socket.send(packets, datagramSize: datagramSize)
        guard rest.readableBytes > 0 else { return }
        sendsThroughChannel = true
        while rest.readableBytes > 0, let datagram = rest.readSlice(length: min(datagramSize, rest.readableBytes)) {
            // Addressed: NIO took the socket as it was given and does not know it is connected.
            context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: datagram)), promise: nil)
        }
        context.flush()
    }

    /// The transfer is over: counted by `outcome`, with the answers it polled.
    private func end(counting outcome: (inout TFTPServer.Statistics) -> Void) {
        over = true
        startTimer?.cancel()
        let polled = self.polled
        state.transferEnded(ObjectIdentifier(self), source: client.ipAddress ?? "?") {
            outcome(&$0)
            $0.polledAnswers += polled
        }
    }

    private func arm(_ context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            if NIODeadline.now() < handler.deadline {
                handler.arm(context)
            } else {
                handler.apply(handler.transfer.timeout(), context: context)
            }
        }
    }
}
