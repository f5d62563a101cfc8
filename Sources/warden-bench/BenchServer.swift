import Foundation

/// The `warden serve` a benchmark measures: the `warden` beside this binary, in its own
/// process (so its CPU time can be told from the load generator's), with a fresh state folder.
final class BenchServer {
    let url: String
    let state: URL
    private let process: Process

    /// Its WARDEN_* settings (besides the port and the lifted limits).
    let environment: [String: String]

    /// Starts the server on a free loopback port with rate limits lifted: the load comes
    /// from one address; `environment` adds settings. With `joining`, it joins that
    /// server's appliances first, as an operator would (`warden appliance export-join` there,
    /// `warden appliance join` here), as the appliance `name`.
    init(environment: [String: String] = [:], name: String = "bench-1", joining peer: BenchServer? = nil) throws {
        state = FileManager.default.temporaryDirectory.appendingPathComponent("warden-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        self.environment = environment.merging(["WARDEN_APPLIANCE_NAME": name]) { $1 }
        if let peer { try Self.join(peer, into: state, environment: self.environment) }
        let executable = try PinnedProcess.warden
        for _ in 0..<10 {
            let port = Int.random(in: 46_000..<52_000)
            let log = state.appendingPathComponent("serve.log")
            let process = try Subprocess.start(
                executable, ["serve", "--state-dir", state.appendingPathComponent(".warden").path],
                environment: PinnedProcess.serveEnvironment(
                    apiPort: port,
                    ["WARDEN_RATE_LIMIT_PER_SECOND": "1000000", "WARDEN_RATE_LIMIT_BURST": "1000000"].merging(
                        self.environment
                    ) { $1 }), log: log)
            for _ in 0..<200 where process.isRunning {
                if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("msg=\"serving https://") {
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

    /// Joins `peer`'s appliances with a join bundle, into the state folder in `folder`.
    private static func join(_ peer: BenchServer, into folder: URL, environment: [String: String]) throws {
        let passphrase = folder.appendingPathComponent("passphrase")
        let bundle = folder.appendingPathComponent("join.bundle").path
        guard
            FileManager.default.createFile(
                atPath: passphrase.path, contents: Data("a benchmark's join passphrase\n".utf8),
                attributes: [.posixPermissions: 0o600])
        else { throw BenchError("cannot write \(passphrase.path)") }
        let warden = try PinnedProcess.warden
        _ = try Subprocess.run(
            warden,
            [
                "appliance", "export-join", "--state-dir", peer.stateDir, "--out", bundle, "--passphrase-file",
                passphrase.path,
            ], environment: peer.environment)
        _ = try Subprocess.run(
            warden,
            [
                "appliance", "join", bundle, "--state-dir", folder.appendingPathComponent(".warden").path,
                "--passphrase-file", passphrase.path,
            ], environment: environment)
    }

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
