import ArgumentParser
import Boot
import Foundation
import Images
import Octets
import Synchronization
import WardenCLI
import WardenCrypto

/// `warden-bench loops`: boot HTTP hashes a large image before its first download; while
/// it does, a ProxyDHCP answer, a TFTP transfer and a boot script are asked for over and
/// over. Each is timed at rest and during the hash: nothing blocking runs on an event loop,
/// so the hash must not hold any of them up.
struct BenchLoopsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loops",
        abstract: "Time ProxyDHCP, TFTP and boot scripts while boot HTTP hashes a 1 GiB image for its first download.",
        discussion: """
            Target: every probe answered, and none during the hash taking longer than its kind's median at rest \
            by a tenth of the hash's own time: a loop that hashed would hold a probe for the whole of it.
            """
    )

    @Option(help: "Size of the image hashed, in MiB.") var mebibytes = 1_024
    @Option(help: "Probes of each kind at rest.") var probes = 30
    @Option(name: [.customShort("o"), .long]) var format: OutputFormat = .text

    func run() async throws {
        let ports = LoopProbes.Ports(
            dhcp: try PinnedProcess.freePort(SOCK_DGRAM), tftp: try PinnedProcess.freePort(SOCK_DGRAM),
            http: try PinnedProcess.freePort(SOCK_STREAM))
        let server = try BenchServer(environment: [
            "WARDEN_PROXYDHCP_PORT": String(ports.dhcp), "WARDEN_TFTP_PORT": String(ports.tftp),
            "WARDEN_BOOT_HTTP_PORT": String(ports.http),
        ])
        defer { server.stop() }
        let probeFile = SecureRandom.bytes(1 << 20)
        try Data(probeFile).write(to: URL(fileURLWithPath: server.stateDir + "/tftp/" + LoopProbes.tftpFile))
        let image = try Self.writeImage(mebibytes: mebibytes, into: server.stateDir + "/images")
        let probes = LoopProbes(ports: ports, tftpContents: probeFile)

        var rest = LoopSamples()
        for _ in 0..<self.probes { try probes.once(into: &rest) }
        // The image's first look-up: answered once the whole file is hashed.
        let hash = DetachedRun { try PlainHTTP.request("HEAD", port: ports.http, path: "/images/" + image) }
        var during = LoopSamples()
        while !hash.isDone { try probes.once(into: &during) }
        let (status, hashSeconds) = try hash.result()
        guard status == 200 else { throw BenchError("the image's first look-up answered \(status)") }

        let report = BenchLoopsReport(
            mebibytes: mebibytes, hashSeconds: hashSeconds, rest: rest.summary, duringHash: during.summary,
            longestDelayMilliseconds: during.longestDelay(beyond: rest))
        if !(try format.printed(report)) { print(report.text) }
    }

    /// Writes `mebibytes` of random bytes under their content address in `folder`; returns
    /// the file's name.
    private static func writeImage(mebibytes: Int, into folder: String) throws -> String {
        let temporary = folder + "/incoming.bench"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary)
        else {
            throw BenchError("cannot write \(temporary)")
        }
        var hasher = Hasher(.sha256)
        let piece = SecureRandom.bytes(16 << 20)
        for index in 0..<(mebibytes + 15) / 16 {
            // Each piece differs from the last, so no two stretches of the image are alike.
            let chunk =
                BigEndian.bytes(UInt32(index)) + piece.dropFirst(4).prefix(min(16, mebibytes - index * 16) << 20 - 4)
            hasher.update(chunk)
            try handle.write(contentsOf: chunk)
        }
        try handle.close()
        let name = ImageFiles.name(sha256: hasher.finalize())
        try FileManager.default.moveItem(atPath: temporary, toPath: folder + "/" + name)
        return name
    }
}

/// The three answers a booting machine waits for, each timed once per round.
struct LoopProbes {
    struct Ports {
        let dhcp: Int
        let tftp: Int
        let http: Int
    }

    static let tftpFile = "loops-probe.bin"
    let ports: Ports
    let tftpContents: [UInt8]

    func once(into samples: inout LoopSamples) throws {
        let dhcp = try DiscoverLoad(port: ports.dhcp, clients: 1).run(spacing: .zero)
        guard dhcp.answered == 1 else { throw BenchError("a ProxyDHCP discover went unanswered") }
        samples.dhcp.append(dhcp.medianMilliseconds)

        let tftpStart = ContinuousClock.now
        let fetched = try TFTPClient(port: ports.tftp).fetch(Self.tftpFile, blockSize: 1_468)
        guard fetched.bytes == tftpContents else { throw BenchError("TFTP served other bytes") }
        samples.tftp.append((ContinuousClock.now - tftpStart).microseconds / 1_000)

        let (status, seconds) = try PlainHTTP.request(
            "GET", port: ports.http, path: "/boot.ipxe?mac=02:00:00:00:00:01&platform=efi&arch=x86_64")
        guard status == 200 else { throw BenchError("the boot script answered \(status)") }
        samples.script.append(seconds * 1_000)
    }
}

/// Milliseconds per probe kind.
struct LoopSamples {
    var dhcp: [Double] = []
    var tftp: [Double] = []
    var script: [Double] = []

    struct Summary: Encodable {
        let count: Int
        let dhcpMedianMilliseconds: Double
        let dhcpMaxMilliseconds: Double
        let tftpMedianMilliseconds: Double
        let tftpMaxMilliseconds: Double
        let scriptMedianMilliseconds: Double
        let scriptMaxMilliseconds: Double
    }

    /// The most any probe here took beyond the median of its kind in `rest`: what held it up.
    func longestDelay(beyond rest: LoopSamples) -> Double {
        [(dhcp, rest.dhcp), (tftp, rest.tftp), (script, rest.script)].map { samples, atRest in
            (samples.max() ?? 0) - (atRest.median ?? 0)
        }.max() ?? 0
    }

    var summary: Summary {
        Summary(
            count: dhcp.count, dhcpMedianMilliseconds: dhcp.median ?? .nan, dhcpMaxMilliseconds: dhcp.max() ?? .nan,
            tftpMedianMilliseconds: tftp.median ?? .nan, tftpMaxMilliseconds: tftp.max() ?? .nan,
            scriptMedianMilliseconds: script.median ?? .nan, scriptMaxMilliseconds: script.max() ?? .nan)
    }
}

struct BenchLoopsReport: Encodable {
    let mebibytes: Int
    let hashSeconds: Double
    let rest: LoopSamples.Summary
    let duringHash: LoopSamples.Summary
    /// The most a probe during the hash took beyond its kind's median at rest.
    let longestDelayMilliseconds: Double

    /// Whether the hash held no probe up: none was delayed by a tenth of the hash's time.
    var heldNothingUp: Bool { duringHash.count > 0 && longestDelayMilliseconds < hashSeconds * 100 }

    var text: String {
        let kinds = [
            (
                "ProxyDHCP answer", rest.dhcpMedianMilliseconds, duringHash.dhcpMedianMilliseconds,
                duringHash.dhcpMaxMilliseconds
            ),
            (
                "TFTP transfer of 1 MiB", rest.tftpMedianMilliseconds, duringHash.tftpMedianMilliseconds,
                duringHash.tftpMaxMilliseconds
            ),
            (
                "boot script", rest.scriptMedianMilliseconds, duringHash.scriptMedianMilliseconds,
                duringHash.scriptMaxMilliseconds
            ),
        ]
        let lines = kinds.map { name, atRest, during, worst in
            String(
                format: "%@: median %.2f ms at rest, %.2f ms during the hash (%.1f×), max %.2f ms", name, atRest,
                during, during / atRest, worst)
        }
        let verdict = String(
            format:
                "longest delay of a probe during the hash, beyond its median at rest: %.2f ms, %.1f%% of the hash's time: %@",
            longestDelayMilliseconds, longestDelayMilliseconds / (hashSeconds * 10),
            heldNothingUp ? "held up by nothing" : "HELD UP (target: under 10%)")
        return
            ([
                "first look-up of a \(mebibytes) MiB image (hashed whole): \(String(format: "%.2f", hashSeconds)) s; "
                    + "\(rest.count) rounds of probes at rest, \(duringHash.count) during the hash"
            ] + lines + [verdict]).joined(separator: "\n")
    }
}

/// One plain HTTP/1.1 request on loopback, its status and how long the answer took to
/// start; the body is not read.
enum PlainHTTP {
    static func request(_ method: String, port: Int, path: String) throws -> (status: Int, seconds: Double) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let start = ContinuousClock.now
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw BenchError("connect to port \(port): \(String(cString: strerror(errno)))") }
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
            throw BenchError("send: \(String(cString: strerror(errno)))")
        }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        let seconds = (ContinuousClock.now - start).microseconds / 1e6
        let statusLine = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self).split(
            separator: " ", maxSplits: 2)
        guard count > 0, statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw BenchError("no HTTP answer on port \(port)")
        }
        return (status, seconds)
    }
}

/// Work on a thread of its own, whose end the caller polls for.
final class DetachedRun<Value: Sendable>: Sendable {
    private let outcome = Mutex<Result<Value, any Error>?>(nil)

    init(_ work: @escaping @Sendable () throws -> Value) {
        Thread { [self] in
            let result = Result { try work() }
            outcome.withLock { $0 = result }
        }.start()
    }

    var isDone: Bool { outcome.withLock { $0 != nil } }

    /// The work's result, waiting for it.
    func result() throws -> Value {
        while true {
            if let result = outcome.withLock({ $0 }) { return try result.get() }
            usleep(1_000)
        }
    }
}
