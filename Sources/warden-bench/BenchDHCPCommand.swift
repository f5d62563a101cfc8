import ArgumentParser
import Boot
import Foundation
import WardenCLI
import Synchronization

/// `warden-bench dhcp`: 1,000 PXE clients send DHCPDISCOVER to Warden's ProxyDHCP within one
/// second (evenly paced), then all at once; replies per second and reply latency. The server
/// is pinned to CPU 0 and the clients to CPU 1 when started as `make bench-dhcp` does.
struct BenchDHCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dhcp",
        abstract: "Benchmark Warden's ProxyDHCP: replies per second and latency for 1,000 clients.",
        discussion: "No peer is named for ProxyDHCP; the figure is Warden's own, paced and in one burst."
    )

    @Option(help: "Clients (distinct MACs).") var clients = 1_000
    @Option(name: [.customShort("o"), .long]) var format: OutputFormat = .text

    func run() async throws {
        let work = NSTemporaryDirectory() + "warden-bench-dhcp-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let port = try PinnedProcess.freePort(SOCK_DGRAM)
        let warden = try PinnedProcess.start(
            cpu: 0, try PinnedProcess.warden, ["serve", "--state-dir", work + "/state"],
            environment: PinnedProcess.serveEnvironment(
                apiPort: try PinnedProcess.freePort(SOCK_STREAM), ["WARDEN_PROXYDHCP_PORT": String(port)]),
            log: work + "/warden.log", hint: "build it with make release")
        defer { PinnedProcess.stop(warden) }
        var started = false
        for _ in 0..<100 where !started {
            started =
                (try? String(contentsOfFile: work + "/warden.log", encoding: .utf8))?.contains("msg=\"serving https://")
                ?? false
            if !started { usleep(100_000) }
        }
        guard started else { throw BenchError("warden serve did not start: see \(work)/warden.log") }

        let paced = try DiscoverLoad(port: port, clients: clients).run(spacing: .microseconds(1_000_000 / clients))
        let burst = try DiscoverLoad(port: port, clients: clients).run(spacing: .zero)
        let report = BenchDHCPReport(clients: clients, paced: paced, burst: burst)
        if !(try format.printed(report)) { print(report.text) }
    }
}

/// One round of DISCOVERs from distinct PXE clients over one loopback socket.
struct DiscoverLoad {
    /// What a round measured.
    struct Result: Encodable {
        let sent: Int
        let answered: Int
        let repliesPerSecond: Double
        let medianMilliseconds: Double
        let p99Milliseconds: Double
        let maxMilliseconds: Double
    }

    let port: Int
    let clients: Int

    /// Sends one DISCOVER per client, `spacing` apart, and waits up to 2 s for the replies.
    func run(spacing: Duration) throws -> Result {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(socket) }
        var size: Int32 = 8 << 20
        setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = UInt16(port).bigEndian
        server.sin_addr.s_addr = inet_addr("127.0.0.1")
        let packets = (0..<clients).map { Self.discover(UInt32($0)) }
        let log = ReplyLog(clients: clients)
        let done = DispatchSemaphore(value: 0)
        Thread { [clients] in
            var buffer = [UInt8](repeating: 0, count: 2_048)
            var quietSince = ContinuousClock.now
            while ContinuousClock.now - quietSince < .seconds(2), log.answered < clients {
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0, let reply = try? DHCPPacket.parse(buffer[..<count]) else { continue }
                quietSince = ContinuousClock.now
                log.replied(Int(reply.transactionID), at: quietSince)
            }
            done.signal()
        }.start()
        let start = ContinuousClock.now
        for (index, packet) in packets.enumerated() {
            let due = start + spacing * index
            while ContinuousClock.now < due { usleep(50) }
            log.sent(index, at: ContinuousClock.now)
            _ = withUnsafePointer(to: &server) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        done.wait()
        let (latencies, lastReply) = log.snapshot
        let sorted = latencies.map { Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1e3 }
            .sorted()
        let elapsed = lastReply.map { $0 - start } ?? .zero
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        func percentile(_ p: Double) -> Double {
            sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        return Result(
            sent: clients, answered: sorted.count, repliesPerSecond: seconds > 0 ? Double(sorted.count) / seconds : 0,
            medianMilliseconds: percentile(0.5), p99Milliseconds: percentile(0.99), maxMilliseconds: sorted.last ?? .nan
        )
    }

    /// A DISCOVER as a UEFI x64 PXE ROM sends it, from MAC 02:00:00:00:hi:lo.
    static func discover(_ index: UInt32) -> [UInt8] {
        var packet = DHCPPacket(
            operation: 1, transactionID: index, flags: 0x8000, relayAddress: [0, 0, 0, 0],
            clientHardwareAddress: [2, 0, 0, 0, UInt8(index >> 8 & 0xff), UInt8(index & 0xff)])
        packet.options = [
            (53, [1]), (60, Array("PXEClient:Arch:00007:UNDI:003016".utf8)), (93, [0, 7]), (94, [1, 3, 16]),
            (97, [0] + (0..<16).map { UInt8($0) }), (55, [1, 3, 43, 60, 66, 67, 97]),
        ]
        return packet.bytes
    }
}

/// When each DISCOVER went out and how long its reply took; shared by sender and receiver.
final class ReplyLog: Sendable {
    private struct State {
        var sentAt: [ContinuousClock.Instant?]
        var latencies: [Duration] = []
        var lastReply: ContinuousClock.Instant?
    }

    private let state: Mutex<State>

    init(clients: Int) { state = Mutex(State(sentAt: Array(repeating: nil, count: clients))) }

    func sent(_ index: Int, at instant: ContinuousClock.Instant) { state.withLock { $0.sentAt[index] = instant } }

    /// Records the reply to DISCOVER `index` (replies to unknown ones are ignored).
    func replied(_ index: Int, at instant: ContinuousClock.Instant) {
        state.withLock { state in
            guard state.sentAt.indices.contains(index), let sent = state.sentAt[index] else { return }
            state.sentAt[index] = nil
            state.latencies.append(instant - sent)
            state.lastReply = instant
        }
    }

    var answered: Int { state.withLock { $0.latencies.count } }

    var snapshot: ([Duration], ContinuousClock.Instant?) { state.withLock { ($0.latencies, $0.lastReply) } }
}

/// `warden-bench dhcp`'s figures.
struct BenchDHCPReport: Encodable {
    let clients: Int
    let paced: DiscoverLoad.Result
    let burst: DiscoverLoad.Result

    var text: String {
        [("paced over 1 s", paced), ("all at once", burst)].map { name, result in
            String(
                format: "%@: %d of %d answered, %.0f replies/s, latency median %.3f ms, p99 %.3f ms, max %.3f ms",
                "\(clients) clients \(name)", result.answered, result.sent, result.repliesPerSecond,
                result.medianMilliseconds, result.p99Milliseconds, result.maxMilliseconds)
        }.joined(separator: "\n")
    }
}
