import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One keep-alive HTTPS connection to Warden, trusting only Warden's server CA: the
/// server's certificate must chain to it, carry the name or address dialled, and be for
/// server authentication (an operator or auditor certificate never passes). A connection
/// the server closed while it was idle (Warden closes idle connections) is opened again
/// before the next request.
public final class HTTPSClient: Sendable {
    /// A client certificate and key (PEM files) for the admin API.
    public struct Identity: Sendable {
        public let certificatePath: String
        public let keyPath: String
        public init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    /// A complete response.
    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
    }

    /// Responses larger than this are refused.
    public static let maxResponseBytes = 16 * 1024 * 1024

    private let connection: Mutex<any Channel>
    private let host: String
    private let port: Int
    private let context: NIOSSLContext
    private let serverCheck: ServerCertificateCheck?
    /// The CA certificate file trusted, named in messages.
    private let serverCA: String

    /// Connects to `url` (`https://HOST:PORT`), trusting only the CA certificate in `serverCA`,
    /// and then only a server certificate that `serverCheck` finds nothing against.
    public init(
        url: String, serverCA: String, identity: Identity? = nil, serverCheck: ServerCertificateCheck? = nil
    ) async throws(ClientError) {
        (host, port) = try ServerURL.split(url)
        self.serverCheck = serverCheck
        self.serverCA = serverCA
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        tls.trustRoots = .file(serverCA)
        do {
            if let identity {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(identity.certificatePath).map {
                    .certificate($0)
                }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: identity.keyPath, format: .pem))
            }
            context = try NIOSSLContext(configuration: tls)
        } catch {
            let files = [identity?.certificatePath, identity?.keyPath, serverCA].compactMap { $0 }
            throw .connection("cannot load \(files.joined(separator: ", ")) as PEM: \(error)")
        }
        connection = Mutex(
            try await Self.connect(
                host: host, port: port, context: context, serverCheck: serverCheck, serverCA: serverCA))
    }

    /// A new connection, its server checked.
    private static func connect(
        host: String, port: Int, context: NIOSSLContext, serverCheck: ServerCertificateCheck?,
        serverCA: String
    ) async throws(ClientError) -> any Channel {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        // The handshake's outcome is kept outside the pipeline: a server that ends the
        // handshake at once (a plain HTTP port) closes the channel, and its handlers go with
        // it before anyone could look the check up, which reported `notFound`, not why.
        let handshake = eventLoop.makePromise(of: Void.self)
        // A connection that never began leaves the promise to this (a no-op once it is answered).
        defer { handshake.fail(ChannelError.ioOnClosedChannel) }
        do {
            let channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host))
                        try channel.pipeline.syncOperations.addHandler(
                            ServerPurposeCheck(promise: handshake, further: serverCheck))
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                    }
                }
                .connect(host: host, port: port).get()
            try await handshake.futureResult.get()
            return channel
        } catch let error as ClientError { throw error } catch let error as ServerPurposeCheck.Failure {
            throw .untrustedServer(error.reason)
        } catch {
            throw ConnectionFailure.explain(error, host: host, port: port, serverCA: serverCA)
        }
    }

    /// Sends one request and reads its whole response; requests may be sent concurrently and
    /// are answered in order.
    public func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws(ClientError) -> Response {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if body != nil { head.headers.add(name: "Content-Type", value: "application/json") }
        return try await exchange(head: head, body: body, sink: nil)
    }

    /// Sends a GET and writes a successful (200) response's body to the open file
    /// `descriptor` as it arrives, whatever its size, telling `progress` the bytes written
    /// and those announced; any other response is read whole and returned, so that its
    /// refusal can be shown.
    public func download(_ path: String, to descriptor: Int32, progress: TransferProgress? = nil)
        async throws(ClientError) -> Response
    {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Length", value: "0")
        return try await exchange(head: head, body: nil, sink: FileSink(descriptor: descriptor, progress: progress))
    }

    /// Sends the open file `descriptor` (`size` bytes) as a request's body, read and sent a
    /// piece at a time as the connection takes it: memory stays constant whatever the size.
    public func upload(
        _ method: HTTPMethod, _ path: String, from descriptor: Int32, size: Int, progress: TransferProgress? = nil
    ) async throws(ClientError) -> Response {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Length", value: String(size))
        head.headers.add(name: "Content-Type", value: "application/octet-stream")
        return try await exchange(
            head: head, body: nil, sink: nil, source: FileSource(descriptor: descriptor, size: size, progress: progress)
        )
    }

    /// One request and its response. A request the connection closed under before it was
    /// written (the server closed it while idle) goes once more on a new connection: the
    /// server never saw it.
    private func exchange(head: HTTPRequestHead, body: [UInt8]?, sink: FileSink?, source: FileSource? = nil)
        async throws(ClientError) -> Response
    {
        for attempt in 1...2 {
            let channel = try await openChannel()
            let promise = channel.eventLoop.makePromise(of: Response.self)
            let unwritten = channel.eventLoop.makePromise(of: Bool.self)
            // A write that fails never reaches the exchange handler: fail the response with it.
            // A file's body is read from its start again on the second attempt.
            source?.rewind()
            channel.writeAndFlush(
                ExchangeHandler.Request(head: head, body: body, source: source, response: promise, sink: sink)
            )
            .whenComplete { result in
                guard case .failure(let error) = result else { return unwritten.succeed(false) }
                unwritten.succeed(error as? ChannelError == .ioOnClosedChannel)
                promise.fail(ClientError.connection("\(error)"))
            }
            do { return try await promise.futureResult.get() } catch {
                if attempt == 1, (try? await unwritten.futureResult.get()) == true { continue }
                if let error = error as? ClientError { throw error }
                throw .connection("\(error)")
            }
        }
        throw .connection("the server closed the connection")
    }

    /// The connection, opened again when the server closed it while it was idle.
    private func openChannel() async throws(ClientError) -> any Channel {
        let current = connection.withLock { $0 }
        guard !current.isActive else { return current }
        let fresh = try await Self.connect(
            host: host, port: port, context: context, serverCheck: serverCheck, serverCA: serverCA)
        connection.withLock { $0 = fresh }
        return fresh
    }

    /// Closes the connection.
    public func close() async {
        try? await connection.withLock { $0 }.close()
    }
}

/// A request with the promise of its response; responses arrive in request order.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Request
    typealias OutboundOut = HTTPClientRequestPart

    struct Request {
        let head: HTTPRequestHead
        let body: [UInt8]?
        /// A body read from a file as it is sent.
        let source: FileSource?
        let response: EventLoopPromise<HTTPSClient.Response>
        /// Where a successful response's body goes instead of memory.
        let sink: FileSink?
    }

    private var waiting = CircularBuffer<
        (response: EventLoopPromise<HTTPSClient.Response>, sink: FileSink?, source: FileSource?)
    >()
    private var status = 0
    private var body: [UInt8] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append((request.response, request.sink, request.source))
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let bytes = request.body {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
        }
        if let source = request.source { return send(source, context: context, then: promise) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    /// Sends `source`'s next piece once the one before is written (from the event loop's
    /// queue, not from inside the write's completion, so that no stack grows with the file),
    /// then the request's end. A server that answered before the body ended (a refusal)
    /// stops the upload: the connection, its body unfinished, is closed.
    private func send(_ source: FileSource, context: ChannelHandlerContext, then promise: EventLoopPromise<Void>?) {
        guard !source.isStopped else {
            promise?.fail(ClientError.connection("the server answered before the upload ended"))
            context.close(promise: nil)
            return
        }
        let piece: ByteBuffer?
        do { piece = try source.next(allocator: context.channel.allocator) } catch {
            promise?.fail(error)
            failAll(error)
            context.close(promise: nil)
            return
        }
        guard let piece else { return context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise) }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(piece)))).assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                context.eventLoop.assumeIsolated().execute { self.send(source, context: context, then: promise) }
            case .failure(let error): promise?.fail(error)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = []
            if status == 200, let sink = waiting.first?.sink {
                sink.expected = head.headers.first(name: "Content-Length").flatMap { Int($0) }
            }
        case .body(let buffer):
            if status == 200, let sink = waiting.first?.sink {
                guard sink.write(buffer) else {
                    failAll(ClientError.protocolError("cannot write the download: \(String(cString: strerror(errno)))"))
                    context.close(promise: nil)
                    return
                }
                return
            }
            guard body.count + buffer.readableBytes <= HTTPSClient.maxResponseBytes else {
                failAll(ClientError.protocolError("response larger than \(HTTPSClient.maxResponseBytes) bytes"))
                context.close(promise: nil)
                return
            }
            body += buffer.readableBytesView
        case .end:
            let answered = waiting.popFirst()
            answered?.source?.stop()
            answered?.response.succeed(HTTPSClient.Response(status: status, body: body))
            body = []
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(ClientError.connection("\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ClientError.connection("the server closed the connection"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: ClientError) {
        while let next = waiting.popFirst() {
            next.source?.stop()
            next.response.fail(error)
        }
    }
}

/// An open file a download is written to (blocking writes: the CLI has one connection),
/// telling `progress` how many bytes it holds. Used only on its channel's event loop.
final class FileSink: @unchecked Sendable {
    let descriptor: Int32
    let progress: TransferProgress?
    private var written = 0
    /// The body's length as the response announced it.
    var expected: Int?

    init(descriptor: Int32, progress: TransferProgress?) {
        self.descriptor = descriptor
        self.progress = progress
    }

    /// Writes all of `buffer`; false when the file refuses.
    func write(_ buffer: ByteBuffer) -> Bool {
        let complete = buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        written += buffer.readableBytes
        progress?(written, expected)
        return complete
    }
}
