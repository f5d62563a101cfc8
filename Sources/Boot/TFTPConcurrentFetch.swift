import Foundation

/// Many fetches of one file at once from a single thread, over non-blocking sockets and
/// poll(2): what is measured is the server, not how an operating system schedules hundreds
/// of blocking client threads.
public enum TFTPConcurrentFetch {
    /// How the fetches went: each one's result, and the wall time for all of them.
    public struct Outcome: Sendable {
        public let results: [Result<TFTPReadSession.Fetch, TFTPClient.Failure>]
        public let seconds: Double
    }

    /// Starts `count` reads of `name` at once and runs them to the end; a fetch fails after
    /// ``TFTPReadSession/maxSilences`` silences of `timeoutSeconds` in a row.
    public static func run(
        host: String = "127.0.0.1", port: Int, name: String, count: Int, blockSize: Int? = nil, windowSize: Int? = nil,
        timeoutSeconds: Double = 2
    ) throws -> Outcome {
        let start = ContinuousClock.now
        let sockets = try (0..<count).map { _ in
            try TFTPClientSocket(host: host, port: port, receiveTimeoutSeconds: nil)
        }
        var sessions = (0..<count).map { _ in TFTPReadSession(name, blockSize: blockSize, windowSize: windowSize) }
        var results = [Result<TFTPReadSession.Fetch, TFTPClient.Failure>?](repeating: nil, count: count)
        var lastHeard = [ContinuousClock.Instant](repeating: start, count: count)
        var polled = sockets.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        func finish(_ index: Int, _ result: Result<TFTPReadSession.Fetch, TFTPClient.Failure>) {
            results[index] = result
            polled[index].fd = -1
        }
        for index in 0..<count {
            do { try sockets[index].send(sessions[index].request, to: sockets[index].serverPort) } catch {
                finish(index, .failure(error))
            }
        }
        var pending = results.filter { $0 == nil }.count
        while pending > 0 {
            _ = poll(&polled, nfds_t(count), 50)
            let now = ContinuousClock.now
            for index in 0..<count where polled[index].fd >= 0 {
                do {
                    if polled[index].revents & Int16(POLLIN) != 0 {
                        while let (packet, from) = try sockets[index].receive() {
                            lastHeard[index] = now
                            let step = try sessions[index].receive(packet, from: from)
                            if let acknowledgement = step.acknowledgement {
                                try sockets[index].send(acknowledgement, to: sessions[index].transferPort)
                            }
                            if let fetched = step.fetched {
                                finish(index, .success(fetched))
                                break
                            }
                        }
                    } else if (now - lastHeard[index]) > .milliseconds(Int64(timeoutSeconds * 1000)) {
                        lastHeard[index] = now
                        try sockets[index].send(
                            try sessions[index].silence(),
                            to: sessions[index].destination(serverPort: sockets[index].serverPort))
                    }
                } catch { finish(index, .failure(error)) }
                if results[index] != nil { pending -= 1 }
            }
        }
        let elapsed = ContinuousClock.now - start
        return Outcome(
            results: results.compactMap { $0 },
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
