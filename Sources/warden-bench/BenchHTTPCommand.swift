import ArgumentParser
import Foundation
import WardenCLI
import Images
import WardenCrypto

/// `warden-bench http`: one image downloaded over and over from Warden's boot HTTP server
/// and from nginx serving the same file, each pinned to CPU 0, by `wrk` on CPU 1, at 1, 100
/// and 1,000 connections: throughput, and server CPU seconds per GB served, the medians of
/// runs taken from server to server in turn.
struct BenchHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Benchmark Warden's boot HTTP server against nginx on loopback.",
        discussion:
            "Targets: throughput at least 0.9× nginx's, CPU time per GB within 1.5× nginx's, at every concurrency."
    )

    @Option(help: "nginx.") var nginx = "/usr/sbin/nginx"
    @Option(help: "wrk.") var wrk = "/usr/bin/wrk"
    @Option(help: "Size of the image served, in MiB.") var mebibytes = 16
    @Option(help: "Seconds per run.") var seconds = 3
    @Option(help: "Runs per server and concurrency; the median is reported.") var rounds = 5
    @Option(parsing: .upToNextOption, help: "Connections at once.") var connections = [1, 100, 1_000]
    @Option(name: [.customShort("o"), .long]) var format: OutputFormat = .text

    func run() async throws {
        Self.raiseFileLimit()
        let work = NSTemporaryDirectory() + "warden-bench-http-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: work) }
        for folder in ["state/images", "nginx-root/images", "nginx-temp"] {
            try FileManager.default.createDirectory(atPath: work + "/" + folder, withIntermediateDirectories: true)
        }
        let image = SecureRandom.bytes(mebibytes << 20)
        let name = ImageFiles.name(sha256: DigestAlgorithm.sha256.hash(image))
        for root in ["state/images", "nginx-root/images"] {
            try Data(image).write(to: URL(fileURLWithPath: "\(work)/\(root)/\(name)"))
        }

        let wardenPort = try PinnedProcess.freePort(SOCK_STREAM), nginxPort = try PinnedProcess.freePort(SOCK_STREAM)
        let warden = try PinnedProcess.start(
            cpu: 0, try PinnedProcess.warden, ["serve", "--state-dir", work + "/state"],
            environment: PinnedProcess.serveEnvironment(
                apiPort: try PinnedProcess.freePort(SOCK_STREAM), ["WARDEN_BOOT_HTTP_PORT": String(wardenPort)]),
            log: work + "/warden.log", hint: "build it with make release")
        defer { PinnedProcess.stop(warden) }
        try Self.nginxConfiguration(work: work, port: nginxPort).write(
            toFile: work + "/nginx.conf", atomically: true, encoding: .utf8)
        let peer = try PinnedProcess.start(
            cpu: 0, nginx, ["-p", work + "/nginx-temp", "-c", work + "/nginx.conf"], log: work + "/nginx.log",
            hint: "make bench-http installs nginx-light and wrk")
        defer { PinnedProcess.stop(peer) }

        let servers = [("warden", warden.processIdentifier, wardenPort), ("nginx", peer.processIdentifier, nginxPort)]
        for (server, _, port) in servers {
            try waitUntilServing(server, "http://127.0.0.1:\(port)/images/\(name)", size: image.count)
        }
        var results: [BenchHTTPResult] = []
        for count in connections {
            // Runs go from server to server, so that a slow spell of the machine falls on both.
            var runs = [[BenchHTTPResult]](repeating: [], count: servers.count)
            for _ in 0..<rounds {
                for (index, (server, pid, port)) in servers.enumerated() {
                    let before = PinnedProcess.cpuSeconds(of: pid)
                    let run = try load("http://127.0.0.1:\(port)/images/\(name)", connections: count)
                    let cpu = PinnedProcess.cpuSeconds(of: pid) - before
                    let gigabytes = run.bytes / 1e9
                    runs[index].append(
                        BenchHTTPResult(
                            server: server, connections: count, gigabytesPerSecond: gigabytes / run.seconds,
                            cpuSecondsPerGB: gigabytes > 0 ? cpu / gigabytes : .infinity, requests: run.requests))
                }
            }
            results += try runs.map(BenchHTTPResult.median)
        }
        let report = BenchHTTPReport(bytes: image.count, seconds: seconds, rounds: rounds, results: results)
        if !(try format.printed(report)) { print(report.text) }
    }

    /// What one wrk run read: completed responses, and bytes and seconds in all.
    struct LoadRun {
        let requests: Int
        /// Bytes read, responses under way at the end included: at 1,000 connections sharing
        /// the link, a 16 MiB response takes longer than the run, so completed responses alone
        /// measure how unevenly the server shares, not what it sends.
        let bytes: Double
        let seconds: Double
    }

    /// A `seconds`-long wrk run with `connections` at once, on CPU 1; any error wrk saw (a
    /// refused or broken connection, a non-200 answer) fails the run.
    private func load(_ url: String, connections: Int) throws -> LoadRun {
        // A 16 MiB file shared by 1,000 connections takes seconds per response: wrk's 2 s
        // default timeout would count slow responses as errors.
        let output = try Subprocess.run(
            "/usr/bin/taskset", ["-c", "1", wrk, "-t1", "-c\(connections)", "-d\(seconds)s", "--timeout", "60s", url])
        if let errors = output.split(separator: "\n").first(where: {
            $0.contains("Non-2xx") || $0.contains("Socket errors")
        }) {
            throw BenchError("wrk saw errors against \(url): \(errors)")
        }
        // "  1234 requests in 5.00s, 19.28GB read" (binary units)
        guard
            let line = output.split(separator: "\n").first(where: {
                $0.contains(" requests in ") && $0.hasSuffix(" read")
            })
        else {
            throw BenchError("wrk printed no summary:\n\(output)")
        }
        let words = line.split(separator: " ")
        guard words.count == 6, let requests = Int(words[0]), let duration = Double(words[3].dropLast(2)),
            let bytes = Self.binaryQuantity(words[4])
        else {
            throw BenchError("wrk's summary is not as expected: \(line)")
        }
        return LoadRun(requests: requests, bytes: bytes, seconds: duration)
    }

    /// wrk's "19.28GB", "512.00KB" or "100B" in bytes.
    static func binaryQuantity(_ text: Substring) -> Double? {
        guard text.hasSuffix("B") else { return nil }
        let number = text.dropLast()
        for (exponent, unit) in ["K", "M", "G", "T"].enumerated() where number.hasSuffix(unit) {
            return Double(number.dropLast()).map { $0 * pow(1024, Double(exponent + 1)) }
        }
        return Double(number)
    }

    private func waitUntilServing(_ server: String, _ url: String, size: Int) throws {
        for _ in 0..<100 {
            if let headers = try? Subprocess.run("/usr/bin/curl", ["-sS", "-I", url]), headers.contains("200"),
                headers.contains("\(size)")
            {
                return
            }
            usleep(100_000)
        }
        throw BenchError("\(server) does not serve \(url)")
    }

    private static func nginxConfiguration(work: String, port: Int) -> String {
        """
        daemon off;
        worker_processes 1;
        pid \(work)/nginx.pid;
        error_log \(work)/nginx-error.log;
        events { worker_connections 4096; }
        http {
            access_log off;
            sendfile on;
            tcp_nopush on;
            keepalive_requests 1000000;
            server { listen 127.0.0.1:\(port); root \(work)/nginx-root; }
        }
        """
    }

    /// 1,000 connections need more descriptors than the usual soft limit of 1,024.
    private static func raiseFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// One measurement.
struct BenchHTTPResult: Encodable {
    let server: String
    let connections: Int
    let gigabytesPerSecond: Double
    let cpuSecondsPerGB: Double
    /// Responses completed.
    let requests: Int

    /// The median of each figure over `runs` of one server at one concurrency.
    static func median(_ runs: [BenchHTTPResult]) throws -> BenchHTTPResult {
        guard let first = runs.first, let gigabytesPerSecond = runs.map(\.gigabytesPerSecond).median,
            let cpuSecondsPerGB = runs.map(\.cpuSecondsPerGB).median, let requests = runs.map(\.requests).median
        else { throw BenchError("no measurement") }
        return BenchHTTPResult(
            server: first.server, connections: first.connections, gigabytesPerSecond: gigabytesPerSecond,
            cpuSecondsPerGB: cpuSecondsPerGB, requests: requests)
    }
}

/// `warden-bench http`'s figures, with Warden's ratios to nginx.
struct BenchHTTPReport: Encodable {
    let bytes: Int
    let seconds: Int
    let rounds: Int
    let results: [BenchHTTPResult]

    var text: String {
        var lines = [
            "image of \(bytes) bytes; servers pinned to CPU 0, wrk (1 thread) to CPU 1; medians of \(rounds) runs of \(seconds) s, taken in turn"
        ]
        for row in results {
            let nginx = results.first { $0.server == "nginx" && $0.connections == row.connections }
            let ratios =
                row.server == "warden"
                ? nginx.map {
                    String(
                        format: "  throughput %.2f× nginx's, CPU/GB %.2f× nginx's",
                        row.gigabytesPerSecond / $0.gigabytesPerSecond, row.cpuSecondsPerGB / $0.cpuSecondsPerGB)
                } ?? "" : ""
            lines.append(
                String(
                    format: "%5d connections  %-6@ %7.2f GB/s  %6.3f CPU s/GB", row.connections, row.server as NSString,
                    row.gigabytesPerSecond, row.cpuSecondsPerGB) + ratios)
        }
        return lines.joined(separator: "\n")
    }
}
