import NIOCore
import NIOHTTP1
import NIOPosix

/// One boot HTTP connection: requests arrive one at a time (NIO's pipelining handler holds
/// the next until this one's `.end`), each answered by a script, a file or a refusal.
final class BootHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: BootHTTPServer.SharedState
    private var request: HTTPRequestHead?

    init(state: BootHTTPServer.SharedState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break  // Boot paths take no body; it is read and dropped.
        case .end:
            guard let head = request else { return }
            request = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let settings = state.settings
        guard head.method == .GET || head.method == .HEAD else {
            return refuse(
                .methodNotAllowed, "only GET and HEAD are served here", head, context, extra: [("Allow", "GET, HEAD")])
        }
        guard head.uri.utf8.count <= settings.maxTargetLength else {
            return refuse(.uriTooLong, "request target too long", head, context)
        }
        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = target[0]
        if path == "/boot.ipxe" {
            answerScript(query: target.count > 1 ? target[1] : "", head, context)
        } else if path.hasPrefix("/images/"), let images = state.images {
            answerFile(String(path.dropFirst("/images/".count)), from: images, head, context)
        } else if path.hasPrefix("/") {
            answerFile(String(path.dropFirst()), from: state.firmware, head, context)
        } else {
            refuse(.badRequest, "request target must be a path", head, context)
        }
    }

    private func answerScript(query: Substring, _ head: HTTPRequestHead, _ context: ChannelHandlerContext) {
        let request = BootScriptRequest(
            query: query, client: context.channel.remoteAddress?.ipAddress ?? "unknown",
            base: Self.base(of: context.channel.localAddress))
        guard request.identifiesMachine else { return sendScript(.identify(base: request.base), head, context) }
        let state = self.state
        offLoop(head, context, on: NIOThreadPool.singleton) {
            try state.scripts.script(for: request)
        } then: { script in
            state.events.record(
                "http",
                "script for \(request.mac ?? request.uuid ?? "?") (\(request.platform ?? "?")) to \(request.client)")
            self.sendScript(script, head, context)
        }
    }

    /// Runs `work` on `pool` — the store, the file system, hashing: nothing that blocks runs
    /// on the event loop — within ``BootHTTPServer/Settings/maxPendingLookups`` (503
    /// beyond), then `then` with its result back on the connection's loop.
    private func offLoop<Found: Sendable>(
        _ head: HTTPRequestHead, _ context: ChannelHandlerContext, on pool: NIOThreadPool,
        _ work: @escaping @Sendable () throws -> Found, then: @escaping (Found) -> Void
    ) {
        let state = self.state
        guard state.pendingLookups.add(1, ordering: .relaxed).newValue <= state.settings.maxPendingLookups else {
            state.pendingLookups.subtract(1, ordering: .relaxed)
            state.count { $0.overloaded += 1 }
            return refuse(
                .serviceUnavailable, "busy; retry shortly", head, context,
                extra: [("Retry-After", String(state.settings.retryAfterSeconds))])
        }
        pool.runIfActive(eventLoop: context.eventLoop, work)
            .assumeIsolated()
            .whenComplete { result in
                state.pendingLookups.subtract(1, ordering: .relaxed)
                switch result {
                case .success(let found): then(found)
                case .failure(let refusal as BootFileRoot.Refusal):
                    switch refusal {
                    case .forbidden: self.refuse(.forbidden, refusal.description, head, context)
                    case .notFound: self.refuse(.notFound, refusal.description, head, context)
                    case .corrupt: self.refuse(.internalServerError, refusal.description, head, context)
                    case .busy:
                        state.count { $0.overloaded += 1 }
                        self.refuse(
                            .serviceUnavailable, refusal.description, head, context,
                            extra: [("Retry-After", String(state.settings.retryAfterSeconds))])
                    }
                case .failure(let unavailable as BootScriptsUnavailable):
                    self.refuse(
                        .serviceUnavailable, unavailable.description, head, context,
                        extra: [("Retry-After", String(state.settings.retryAfterSeconds))])
                case .failure: self.refuse(.serviceUnavailable, "shutting down", head, context, close: true)
                }
            }
    }

    private func sendScript(_ script: IPXEScript, _ head: HTTPRequestHead, _ context: ChannelHandlerContext) {
        state.count { $0.scripts += 1 }
        let body = context.channel.allocator.buffer(string: script.text)
        let headers = HTTPHeaders([
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(body.readableBytes)),
            ("Cache-Control", "no-store"),
        ])
        respond(
            HTTPResponseHead(version: head.version, status: .ok, headers: headers.keepingAlive(head)),
            body: head.method == .HEAD ? nil : .byteBuffer(body), head, context)
    }

    /// Finds `name` off the event loop, on the server's own file pool (an image's first
    /// look-up hashes it whole: it never makes a boot script wait), then answers with it.
    private func answerFile(
        _ name: String, from root: any BootFileSource, _ head: HTTPRequestHead, _ context: ChannelHandlerContext
    ) {
        offLoop(head, context, on: state.fileLookups) {
            try root.resolve(name)
        } then: { file in
            self.send(file, as: name, head, context)
        }
    }

    private func send(
        _ file: BootFileRoot.ServedFile, as name: String, _ head: HTTPRequestHead, _ context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders([
            ("ETag", file.entityTag), ("Accept-Ranges", "bytes"), ("Content-Type", Self.contentType(name)),
        ])
        if let tags = head.headers.first(name: "If-None-Match"),
            tags == "*" || tags.split(separator: ",").contains(where: { $0.trimmingSpaces == file.entityTag })
        {
            state.count { $0.notModified += 1 }
            return respond(
                HTTPResponseHead(version: head.version, status: .notModified, headers: headers.keepingAlive(head)),
                body: nil, head, context)
        }
        let ifRange = head.headers.first(name: "If-Range")
        let range =
            ifRange == nil || ifRange == file.entityTag
            ? ByteRange.resolve(head.headers.first(name: "Range"), size: file.size) : .whole
        let status: HTTPResponseStatus
        let sent: ByteRange?
        switch range {
        case .unsatisfiable:
            return refuse(
                .rangeNotSatisfiable, "range outside the file's \(file.size) bytes", head, context,
                extra: [("Content-Range", "bytes */\(file.size)")])
        case .whole:
            (status, sent) = (.ok, file.size > 0 ? ByteRange(first: 0, last: file.size - 1) : nil)
        case .partial(let part):
            (status, sent) = (.partialContent, part)
            headers.add(name: "Content-Range", value: "bytes \(part.first)-\(part.last)/\(file.size)")
        }
        headers.add(name: "Content-Length", value: String(sent?.count ?? 0))
        let response = HTTPResponseHead(version: head.version, status: status, headers: headers.keepingAlive(head))
        guard head.method == .GET, let sent else {
            state.count { $0.files += 1 }
            return respond(response, body: nil, head, context)
        }
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return refuse(.notFound, "\(name) not found", head, context) }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor)
        state.count { $0.files += 1 }
        let state = self.state, events = state.events, client = context.channel.remoteAddress?.ipAddress ?? "?"
        respond(
            response,
            body: .fileRegion(
                FileRegion(
                    fileHandle: handle, readerIndex: file.offset + sent.first, endIndex: file.offset + sent.last + 1)),
            head, context
        ) {
            try? handle.close()
            state.count { $0.bytesSent += sent.count }
            events.record("http", "\(name) to \(client): \(sent.count) bytes")
        }
    }

    private func refuse(
        _ status: HTTPResponseStatus, _ message: String, _ head: HTTPRequestHead, _ context: ChannelHandlerContext,
        extra: [(String, String)] = [], close: Bool = false
    ) {
        state.count {
            $0.refused += 1
            $0.refusedByStatus[Int(status.code), default: 0] += 1
        }
        let body = context.channel.allocator.buffer(string: message + "\n")
        var headers = HTTPHeaders(
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(body.readableBytes))] + extra)
        headers = close ? headers.closing() : headers.keepingAlive(head)
        respond(
            HTTPResponseHead(version: head.version, status: status, headers: headers),
            body: head.method == .HEAD ? nil : .byteBuffer(body), head, context)
    }

    /// Writes one response; closes the connection after it unless the client keeps it alive.
    private func respond(
        _ response: HTTPResponseHead, body: IOData?, _ head: HTTPRequestHead, _ context: ChannelHandlerContext,
        whenWritten: @escaping () -> Void = {}
    ) {
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        let keepAlive = head.isKeepAlive && response.headers.first(name: "Connection")?.lowercased() != "close"
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            whenWritten()
            if !keepAlive { context.close(promise: nil) }
        }
    }

    /// `http://ADDRESS:PORT` of the socket a request came to: what the client reached, and
    /// nothing the client wrote.
    static func base(of address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "http://127.0.0.1" }
        if case .v6 = address { return "http://[\(ip)]:\(port)" }
        return "http://\(ip):\(port)"
    }

    private static func contentType(_ name: String) -> String {
        name.hasSuffix(".ipxe") || name.hasSuffix(".txt") ? "text/plain; charset=utf-8" : "application/octet-stream"
    }
}

private extension HTTPHeaders {
    /// With `Connection: close` unless `request` keeps the connection alive.
    func keepingAlive(_ request: HTTPRequestHead) -> HTTPHeaders { request.isKeepAlive ? self : closing() }

    func closing() -> HTTPHeaders {
        var headers = self
        headers.replaceOrAdd(name: "Connection", value: "close")
        return headers
    }
}
