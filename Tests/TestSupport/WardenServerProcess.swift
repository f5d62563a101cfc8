import Foundation

/// `warden serve` as a process on a loopback port of its own, with its own state folder,
/// and the `warden` CLI and `warden-agent` pointed at it. Stopped by its process id.
public final class WardenServerProcess: @unchecked Sendable {
    /// The working folder: the state folder is `.warden` in it, the log is `serve.log`.
    public let folder: URL
    public let port: Int
    private var process: Process

    public var url: String { "https://127.0.0.1:\(port)" }
    public var stateDir: URL { folder.appendingPathComponent(".warden") }
    public var serverCA: String { stateDir.appendingPathComponent("ca.pem").path }
    public var log: URL { folder.appendingPathComponent("serve.log") }

    /// Starts a server with a fresh state folder (or one `prepare` fills first, given the
    /// folder and the server's settings); `environment` adds WARDEN_* settings (the
    /// appliance's name is its own unless it names one).
    public init(
        environment: [String: String] = [:], preparing prepare: ((URL, [String: String]) throws -> Void)? = nil
    ) throws {
        folder = try TestPaths.temporaryDirectory("serve")
        let environment = ["WARDEN_APPLIANCE_NAME": "appliance-" + UUID().uuidString.prefix(8).lowercased()]
            .merging(environment) { $1 }
        try prepare?(folder.appendingPathComponent(".warden"), environment)
        for _ in 0..<20 {
            let port = Int.random(in: 33_000..<45_000)
            let process = try Self.launch(folder: folder, port: port, environment: environment)
            if try Self.waitUntilServing(process: process, folder: folder, port: port) {
                self.port = port
                self.process = process
                self.environment = environment
                return
            }
            Self.stop(process, signal: SIGKILL)
        }
        throw CommandFailure("warden serve did not start on any of 20 ports")
    }

    /// Its WARDEN_* settings.
    public let environment: [String: String]

    deinit { Self.stop(process, signal: SIGTERM) }

    /// The process id of the running server.
    public var pid: Int32 { process.processIdentifier }

    /// Stops the server with `signal` (SIGTERM: gracefully) and waits for it.
    public func stop(signal: Int32 = SIGTERM) { Self.stop(process, signal: signal) }

    /// Starts the server again on the same port and state folder.
    public func restart() throws {
        stop()
        process = try Self.launch(folder: folder, port: port, environment: environment)
        guard try Self.waitUntilServing(process: process, folder: folder, port: port) else {
            throw CommandFailure(
                "warden serve did not restart: " + ((try? String(contentsOf: log, encoding: .utf8)) ?? ""))
        }
    }

    /// The port the running server's boot HTTP service took, from its log.
    public func bootHTTPPort() throws -> Int {
        let text = try String(contentsOf: log, encoding: .utf8)
        guard let line = text.split(separator: "\n").last(where: { $0.contains(" listener=boot-http ") }),
            let port = line.firstMatch(of: /port=(\d+)/).flatMap({ Int($0.output.1) })
        else { throw CommandFailure("no boot HTTP line in the server's log") }
        return port
    }

    /// Runs `warden ARGUMENTS --warden-url URL --state-dir STATE` (the operator's identity).
    public func cli(_ arguments: [String], identity: URL? = nil) throws -> CommandResult {
        try Command.run(
            TestPaths.wardenBinary.path,
            arguments + ["--warden-url", url, "--state-dir", stateDir.path]
                + (identity.map { ["--identity", $0.path] } ?? []),
            in: folder)
    }

    /// Runs `warden-agent SUBCOMMAND --server URL --ca CA --tcti TCTI --patience 0 ARGUMENTS`: one
    /// attempt, so that a test sees this server's answer (`also` names further appliances to try).
    public func agent(_ subcommand: String, tcti: String, _ arguments: [String] = [], also: [WardenServerProcess] = [])
        throws -> CommandResult
    {
        try Command.run(
            TestPaths.agentBinary.path,
            [subcommand] + ([self] + also).flatMap { ["--server", $0.url] }
                + ["--ca", serverCA, "--tcti", tcti, "--patience", "0"] + arguments,
            in: folder)
    }

    /// Starts a second appliance beside this one as an operator would: `warden appliance
    /// export-join` here, `warden appliance join` with the bundle and its passphrase in a new
    /// state folder, then `warden serve` there with `environment` (the shared database).
    public func joined(environment: [String: String]) throws -> WardenServerProcess {
        let secrets = try TestPaths.temporaryDirectory("join")
        let passphrase = secrets.appendingPathComponent("passphrase")
        try Data("a passphrase carried apart\n".utf8).write(to: passphrase)
        chmod(passphrase.path, 0o600)
        let bundle = secrets.appendingPathComponent("join.bundle").path
        let exported = try Command.run(
            TestPaths.wardenBinary.path,
            [
                "appliance", "export-join", "--state-dir", stateDir.path, "--out", bundle, "--passphrase-file",
                passphrase.path,
            ], in: folder, environment: self.environment)
        guard exported.status == 0 else { throw CommandFailure("export-join: \(exported.stderr)") }
        return try WardenServerProcess(environment: environment) { state, settings in
            let joined = try Command.run(
                TestPaths.wardenBinary.path,
                ["appliance", "join", bundle, "--state-dir", state.path, "--passphrase-file", passphrase.path],
                environment: settings)
            guard joined.status == 0 else { throw CommandFailure("appliance join: \(joined.stderr)") }
        }
    }

    /// The suite runs many servers and software TPMs at once on two cores, where a TLS
    /// handshake or a pause between an agent's requests can take far longer than on a rack:
    /// the connection deadlines are relaxed unless a test sets them (the tests of the
    /// deadlines do), and refusal windows last a day (tests count the records a window
    /// makes, and the seconds between two of a test's requests can outlast the default).
    static let patientDeadlines = [
        "WARDEN_API_HANDSHAKE_TIMEOUT": "120", "WARDEN_API_IDLE_TIMEOUT": "600",
        "WARDEN_REFUSAL_AUDIT_INTERVAL": "86400",
    ]

    /// The boot services (TFTP, boot HTTP, ProxyDHCP) on ports the system chooses, so that
    /// servers of the suite running at once never collide.
    public static let bootPortsAnywhere = [
        "WARDEN_TFTP_PORT": "0", "WARDEN_BOOT_HTTP_PORT": "0", "WARDEN_PROXYDHCP_PORT": "0",
        "WARDEN_PROXYDHCP_ALT_PORT": "0",
    ]

    private static func launch(folder: URL, port: Int, environment: [String: String]) throws -> Process {
        let settings = patientDeadlines.merging(environment) { $1 }.merging(bootPortsAnywhere) { $1 }.merging([
            "WARDEN_API_PORT": String(port)
        ]) { $1 }
        return try Command.start(
            TestPaths.wardenBinary.path, ["serve", "--state-dir", folder.appendingPathComponent(".warden").path],
            in: folder,
            environment: settings, log: folder.appendingPathComponent("serve.log"))
    }

    /// Whether the server reports itself serving within about ten seconds.
    private static func waitUntilServing(process: Process, folder: URL, port: Int) throws -> Bool {
        let log = folder.appendingPathComponent("serve.log")
        for _ in 0..<200 {
            guard process.isRunning else { return false }
            if let text = try? String(contentsOf: log, encoding: .utf8),
                text.contains("serving https://127.0.0.1:\(port)\"")
            {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    /// Sends `signal`, waits up to 30 s for the server to end (a graceful stop on a loaded
    /// machine can take seconds; the wait ends when it does), then kills it.
    private static func stop(_ process: Process, signal: Int32) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        for _ in 0..<1_500 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
