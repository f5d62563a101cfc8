import ArgumentParser
import Boot
import Foundation
import WardenCLI

/// `warden-bench tftp`: one file fetched from Warden's TFTP server and from tftpd-hpa and
/// atftpd, each server pinned to CPU 0, by the same client, which pins itself: lockstep at
/// 512 and 1468-byte blocks and windows of 8 with the client on another CPU and then on
/// CPU 0 beside the servers, and many transfers at once from the other CPU.
struct BenchTFTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tftp",
        abstract: "Benchmark Warden's TFTP server against tftpd-hpa and atftpd on loopback.",
        discussion: """
            Targets: lockstep at least as fast as the faster peer; with windowsize 8 at least twice as fast as \
            tftpd-hpa's lockstep and as fast as atftpd's windows; 500 concurrent transfers all complete, faster than both.
            """
    )

    @Option(help: "tftpd-hpa's server (in.tftpd).") var tftpdHpa = "/usr/sbin/in.tftpd"
    @Option(help: "atftpd's server.") var atftpd = "out/peers/atftpd/usr/sbin/atftpd"
    @Option(help: "The file fetched.") var file = "/usr/lib/ipxe/ipxe.efi"
    @Option(help: "Fetches per measurement; the median is reported.") var rounds = 15
    @Option(help: "Transfers at once in the concurrent phase.") var concurrency = 500
    @Option(help: "The client's CPU apart from the servers (which run on CPU 0).") var clientCPU = 1
    @Option(name: [.customShort("o"), .long]) var format: OutputFormat = .text

    func validate() throws {
        guard clientCPU != 0 else { throw ValidationError("--client-cpu must be a CPU other than the servers' CPU 0") }
    }

    func run() async throws {
        let work = NSTemporaryDirectory() + "warden-bench-tftp-\(getpid())"
        let root = work + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let contents = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        try Data(contents).write(to: URL(fileURLWithPath: root + "/bench.bin"))
        chmod(work, 0o755)
        chmod(root, 0o755)
        try "files:\n  bench.bin: \(root)/bench.bin\n".write(
            toFile: work + "/firmware.yaml", atomically: true, encoding: .utf8)

        var servers = try TFTPPeerServers(
            work: work, root: root, wardenFirmware: work + "/firmware.yaml", tftpdHpa: tftpdHpa, atftpd: atftpd)
        defer { servers.stop() }
        try servers.waitUntilServing(bytes: contents)

        var results: [BenchTFTPResult] = []
        for (placement, cpu) in [("client on CPU \(clientCPU)", clientCPU), ("client on CPU 0", 0)] {
            try ProcessAffinity.pin(to: cpu)
            for (mode, blockSize, windowSize) in [
                ("lockstep 512", 512, nil), ("lockstep 1468", 1468, nil), ("windowsize 8", 1468, 8),
            ] as [(String, Int, Int?)] {
                // Rounds go from server to server, so that a slow spell of the machine falls
                // on all of them rather than on one.
                let measured = servers.all.filter { windowSize == nil || $0.name != "tftpd-hpa" }
                var times = [[Double]](repeating: [], count: measured.count)
                for _ in 0..<rounds {
                    for (index, server) in measured.enumerated() {
                        times[index].append(
                            try timedFetch(
                                server.port, blockSize: blockSize, windowSize: windowSize, expecting: contents))
                    }
                }
                for (server, samples) in zip(measured, times) {
                    guard let seconds = samples.median else { throw BenchError("no measurement") }
                    results.append(
                        BenchTFTPResult(
                            server: server.name, mode: mode, placement: placement, seconds: seconds,
                            megabytesPerSecond: Double(contents.count) / seconds / 1e6))
                }
            }
        }
        try ProcessAffinity.pin(to: clientCPU)
        for server in servers.all {
            let (seconds, failures) = try concurrentFetches(server.port, expecting: contents)
            results.append(
                BenchTFTPResult(
                    server: server.name, mode: "\(concurrency) at once", placement: "client on CPU \(clientCPU)",
                    seconds: seconds,
                    megabytesPerSecond: Double(contents.count * (concurrency - failures)) / seconds / 1e6,
                    failures: failures))
        }
        let report = BenchTFTPReport(file: file, bytes: contents.count, results: results)
        if !(try format.printed(report)) { print(report.text) }
    }

    private func timedFetch(_ port: Int, blockSize: Int, windowSize: Int?, expecting contents: [UInt8]) throws -> Double
    {
        let client = try TFTPClient(port: port)
        let start = ContinuousClock.now
        let fetched = try client.fetch("bench.bin", blockSize: blockSize, windowSize: windowSize)
        let seconds = (ContinuousClock.now - start).microseconds / 1e6
        guard fetched.bytes == contents else { throw BenchError("port \(port) served other bytes") }
        return seconds
    }

    /// `concurrency` fetches at once from one polling thread; wall time and how many failed
    /// (or brought back other bytes).
    private func concurrentFetches(_ port: Int, expecting contents: [UInt8]) throws -> (Double, Int) {
        let outcome = try TFTPConcurrentFetch.run(port: port, name: "bench.bin", count: concurrency, blockSize: 1468)
        let failures = outcome.results.filter { result in (try? result.get().bytes) != contents }.count
        return (outcome.seconds, failures)
    }
}

/// One measurement.
struct BenchTFTPResult: Encodable {
    let server: String
    let mode: String
    /// Where the client ran.
    let placement: String
    let seconds: Double
    let megabytesPerSecond: Double
    var failures = 0
}

/// `warden-bench tftp`'s figures, with Warden's ratio to each peer per mode.
struct BenchTFTPReport: Encodable {
    let file: String
    let bytes: Int
    let results: [BenchTFTPResult]

    var text: String {
        var lines = ["\(file): \(bytes) bytes; every server pinned to CPU 0, the client where each row says"]
        let groups = results.map { "\($0.mode), \($0.placement)" }.reduce(into: [String]()) {
            if !$0.contains($1) { $0.append($1) }
        }
        for group in groups {
            let rows = results.filter { "\($0.mode), \($0.placement)" == group }
            let warden = rows.first { $0.server == "warden" }
            for row in rows {
                let ratio =
                    warden.map {
                        row.server == "warden"
                            ? "" : String(format: "  Warden at %.2f× its speed", row.seconds / $0.seconds)
                    } ?? ""
                let failures = row.failures > 0 ? "  \(row.failures) FAILED" : ""
                lines.append(
                    "\(group.padding(toLength: 32, withPad: " ", startingAt: 0)) \(row.server.padding(toLength: 10, withPad: " ", startingAt: 0)) "
                        + String(format: "%9.1f ms %8.1f MB/s", row.seconds * 1000, row.megabytesPerSecond) + ratio
                        + failures)
            }
            // tftpd-hpa grants no windows: the windowed target is twice its lockstep speed.
            if let warden, warden.mode.hasPrefix("windowsize"),
                let lockstep = results.first(where: {
                    $0.server == "tftpd-hpa" && $0.mode == "lockstep 1468" && $0.placement == warden.placement
                })
            {
                lines.append(
                    "\(group.padding(toLength: 32, withPad: " ", startingAt: 0)) "
                        + String(
                            format: "Warden at %.2f× tftpd-hpa's lockstep 1468 speed (it grants no windowsize)",
                            lockstep.seconds / warden.seconds))
            }
        }
        return lines.joined(separator: "\n")
    }
}
