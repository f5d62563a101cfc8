import Foundation

/// The `warden serve` a benchmark measures: the `warden` beside this binary, in its own
/// process (so its CPU time can be told from the load generator's), with a fresh state folder.
final class BenchServer {
    let url: String
    let state: URL
    private let process: Process

    /// Starts the server on a free loopback port with rate limits lifted: the load comes
    /// from one address; `environment` adds settings. With `sharing`, it starts from a copy
    /// of that server's state folder (its keys and certificates), as a second appliance.
    init(environment: [String: String] = [:], sharing peer: BenchServer? = nil) throws {
        state = FileManager.default.temporaryDirectory.appendingPathComponent("warden-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        if let peer {
            try FileManager.default.copyItem(
                atPath: peer.stateDir, toPath: state.appendingPathComponent(".warden").path)
        }
        let executable = try PinnedProcess.warden
        for _ in 0..<10 {
            let port = Int.random(in: 46_000..<52_000)
            let log = state.appendingPathComponent("serve.log")
            let process = try Subprocess.start(
                executable, ["serve", "--state-dir", state.appendingPathComponent(".warden").path],
                environment: PinnedProcess.serveEnvironment(
                    apiPort: port,
                    ["WARDEN_RATE_LIMIT_PER_SECOND": "1000000", "WARDEN_RATE_LIMIT_BURST": "1000000"].merging(
                        environment
                    ) { $1 }), log: log)
            for _ in 0..<200 where process.isRunning {
                if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("warden: serving") {
                    self.process = process
                    url = "https://127.0.0.1:\(port)"
                    return
                }
                usleep(50_000)
            }
            process.terminate()
            process.waitUntilExit()
        }
        throw BenchError("warden serve did not start for the benchmark")
    }

    var stateDir: String { state.appendingPathComponent(".warden").path }

    /// CPU seconds the server has used so far.
    var cpuSeconds: Double { CPUTime.seconds(of: process.processIdentifier) }

    /// Stops the server gracefully and removes its state.
    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: state)
    }
}

/// CPU time (user + system) of a process, from /proc.
enum CPUTime {
    static func seconds(of pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static var ofThisProcess: Double { seconds(of: getpid()) }
}
