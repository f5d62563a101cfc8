import ArgumentParser
import Foundation
import Images
import WardenCrypto

/// `warden bench http`: one image downloaded over and over from Warden's boot HTTP server
/// and from nginx serving the same file, each pinned to CPU 0, by `wrk` on CPU 1, at 1, 100
/// and 1,000 connections: throughput, and server CPU seconds per GB served.
struct BenchHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Benchmark Warden's boot HTTP server against nginx on loopback.",
        discussion: "Targets: throughput at least 0.9× nginx's, CPU time per GB within 1.5× nginx's, at every concurrency."
    )

    @Option(help: "nginx.") var nginx = "/usr/sbin/nginx"
    @Option(help: "wrk.") var wrk = "/usr/bin/wrk"
    @Option(help: "Size of the image served, in MiB.") var mebibytes = 16
    @Option(help: "Seconds per measurement.") var seconds = 5
    @Option(parsing: .upToNextOption, help: "Connections at once.") var connections = [1, 100, 1_000]
    @Option var format: OutputFormat = .text

    func run() async throws {
        Self.raiseFileLimit()
        let work = NSTemporaryDirectory() + "warden-bench-http-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: work) }
        for folder in ["state/images", "nginx-root/images", "nginx-temp"] {
            try FileManager.default.createDirectory(atPath: work + "/" + folder, withIntermediateDirectories: true)
        }
        let image = SecureRandom.bytes(mebibytes << 20)
        let name = ImageFiles.name(sha256: DigestAlgorithm.sha256.hash(image))
        for root in ["state/images", "nginx-root/images"] { try Data(image).write(to: URL(fileURLWithPath: "\(work)/\(root)/\(name)")) }

        let wardenPort = try PinnedProcess.freePort(SOCK_STREAM), nginxPort = try PinnedProcess.freePort(SOCK_STREAM)
        let warden = try PinnedProcess.start(cpu: 0, try PinnedProcess.warden, ["serve", "--state-dir", work + "/state"], environment: PinnedProcess.serveEnvironment(
            apiPort: try PinnedProcess.freePort(SOCK_STREAM), ["WARDEN_BOOT_HTTP_PORT": String(wardenPort)]), log: work + "/warden.log", hint: "build it with make release")
        defer { PinnedProcess.stop(warden) }
        try Self.nginxConfiguration(work: work, port: nginxPort).write(toFile: work + "/nginx.conf", atomically: true, encoding: .utf8)
        let peer = try PinnedProcess.start(cpu: 0, nginx, ["-p", work + "/nginx-temp", "-c", work + "/nginx.conf"], log: work + "/nginx.log",
                                           hint: "make bench-http installs nginx-light and wrk")
        defer { PinnedProcess.stop(peer) }

        let servers = [("warden", warden.processIdentifier, wardenPort), ("nginx", peer.processIdentifier, nginxPort)]
        for (server, _, port) in servers { try waitUntilServing(server, "http://127.0.0.1:\(port)/images/\(name)", size: image.count) }
        var results: [BenchHTTPResult] = []
        for count in connections {
            for (server, pid, port) in servers {
                let before = PinnedProcess.cpuSeconds(of: pid)
                let requests = try load("http://127.0.0.1:\(port)/images/\(name)", connections: count)
                let cpu = PinnedProcess.cpuSeconds(of: pid) - before
                let gigabytes = Double(requests) * Double(image.count) / 1e9
                results.append(BenchHTTPResult(server: server, connections: count, gigabytesPerSecond: gigabytes / Double(seconds),
                                               cpuSecondsPerGB: gigabytes > 0 ? cpu / gigabytes : .infinity, requests: requests))
            }
        }
        let report = BenchHTTPReport(bytes: image.count, seconds: seconds, results: results)
        switch format {
        case .json: try JSONOutput.print(report)
        case .text: print(report.text)
        }
    }

    /// Completed requests of a `seconds`-long wrk run with `connections` at once, on CPU 1;
    /// any error wrk saw (a refused or broken connection, a non-200 answer) fails the run.
    private func load(_ url: String, connections: Int) throws -> Int {
        // A 16 MiB file shared by 1,000 connections takes seconds per response: wrk's 2 s
        // default timeout would count slow responses as errors.
        let output = try Subprocess.run("/usr/bin/taskset", ["-c", "1", wrk, "-t1", "-c\(connections)", "-d\(seconds)s", "--timeout", "60s", url])
        // "  1234 requests in 5.00s, 19.28GB read"
        guard let line = output.split(separator: "\n").first(where: { $0.contains(" requests in ") }),
              let count = line.split(separator: " ").first.flatMap({ Int($0) })
        else { throw BenchError("wrk printed no request count:\n\(output)") }
        if let errors = output.split(separator: "\n").first(where: { $0.contains("Non-2xx") || $0.contains("Socket errors") }) {
            throw BenchError("wrk saw errors against \(url): \(errors)")
        }
        return count
    }

    private func waitUntilServing(_ server: String, _ url: String, size: Int) throws {
        for _ in 0..<100 {
            if let headers = try? Subprocess.run("/usr/bin/curl", ["-sS", "-I", url]), headers.contains("200"), headers.contains("\(size)") { return }
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
    let requests: Int
}

/// `warden bench http`'s figures, with Warden's ratios to nginx.
struct BenchHTTPReport: Encodable {
    let bytes: Int
    let seconds: Int
    let results: [BenchHTTPResult]

    var text: String {
        var lines = ["image of \(bytes) bytes; servers pinned to CPU 0, wrk (1 thread) to CPU 1, \(seconds) s per row"]
        for row in results {
            let nginx = results.first { $0.server == "nginx" && $0.connections == row.connections }
            let ratios = row.server == "warden" ? nginx.map { String(format: "  throughput %.2f× nginx's, CPU/GB %.2f× nginx's", row.gigabytesPerSecond / $0.gigabytesPerSecond, row.cpuSecondsPerGB / $0.cpuSecondsPerGB) } ?? "" : ""
            lines.append(String(format: "%5d connections  %-6@ %7.2f GB/s  %6.3f CPU s/GB", row.connections, row.server as NSString, row.gigabytesPerSecond, row.cpuSecondsPerGB) + ratios)
        }
        return lines.joined(separator: "\n")
    }
}
