import Foundation

/// A PostgreSQL server of Warden's tests, benchmarks and labs: a new cluster (`initdb`) in a
/// temporary folder, listening on a loopback port and on a Unix socket in that folder, with
/// SCRAM-SHA-256 passwords. Run as root, it runs as the `postgres` user (PostgreSQL refuses
/// root). It is stopped by its process id; a cluster Debian's package started is never touched.
public final class PostgresCluster: @unchecked Sendable {
    /// The superuser the cluster is made with, and the one the store signs in as.
    public static let user = "warden"
    public let folder: URL
    public let port: Int
    /// The password, in a file as `WARDEN_DATABASE_PASSWORD_FILE` names one.
    public let passwordFile: URL
    public let password: String
    private let process: Process
    private let asPostgres: [String]

    /// The folder holding PostgreSQL's server programs (`initdb`, `postgres`), newest version first.
    public static func binaries() throws -> URL {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw PostgresClusterError("PostgreSQL's server is not installed (Debian's postgresql package; make deps)")
        }
        return root.appendingPathComponent("\(newest)/bin")
    }

    /// Makes and starts a new cluster; `settings` are added to `postgres`'s command line (`name=value`).
    public convenience init(settings: [String] = []) throws {
        let password = (0..<24).map { _ in String("abcdefghijkmnopqrstuvwxyz23456789".randomElement()!) }.joined()
        try self.init(password: password, settings: settings) { folder, data, run in
            let passwordFile = folder.appendingPathComponent("password")
            try run(
                "initdb",
                [
                    "-D", data, "-U", PostgresCluster.user, "--pwfile", passwordFile.path, "--auth=scram-sha-256",
                    "-E", "UTF8", "--locale=C", "--no-sync",
                ])
        }
    }

    /// A streaming standby of this server (`pg_basebackup -R`), started, with its own port and folder.
    public func standby(settings: [String] = []) throws -> PostgresCluster {
        let primary = "host=127.0.0.1 port=\(port) user=\(Self.user) password=\(password) application_name=standby"
        return try PostgresCluster(password: password, settings: settings) { _, data, run in
            try run("pg_basebackup", ["-D", data, "-R", "-X", "stream", "-c", "fast", "-d", primary])
        }
    }

    /// Makes a cluster's data folder with `make` (given the folder, the data folder and a way
    /// to run a server program as the cluster's owner), then starts it on a free port.
    private init(
        password: String, settings: [String],
        make: (URL, String, (String, [String]) throws -> Void) throws -> Void
    ) throws {
        folder = try Self.temporaryFolder()
        asPostgres = geteuid() == 0 ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"] : []
        self.password = password
        passwordFile = folder.appendingPathComponent("password")
        try Data(password.utf8).write(to: passwordFile)
        if geteuid() == 0 {
            try Self.check(Self.execute("chown", ["-R", "postgres:postgres", folder.path]), "chown")
        }
        let bin = try Self.binaries()
        let data = folder.appendingPathComponent("data").path
        let owner = asPostgres
        try make(folder, data) { program, arguments in
            try Self.check(Self.run(owner, bin.appendingPathComponent(program).path, arguments), program)
        }
        for _ in 0..<20 {
            let port = Int.random(in: 32_000..<48_000)
            let arguments =
                asPostgres + [
                    bin.appendingPathComponent("postgres").path, "-D", data, "-p", "\(port)", "-k", folder.path,
                    "-c", "listen_addresses=127.0.0.1", "-c", "synchronous_commit=on", "-c", "fsync=on",
                    "-c", "max_connections=300", "-c", "shared_buffers=32MB",
                ] + settings.flatMap { ["-c", $0] }
            let process = try Self.launch(
                arguments[0], Array(arguments.dropFirst()), log: folder.appendingPathComponent("postgres.log"))
            if Self.waitUntilAccepting(port: port, process: process) {
                self.process = process
                self.port = port
                return
            }
            Self.stop(process)
        }
        throw PostgresClusterError("postgres did not start on any of 20 ports: see \(folder.path)/postgres.log")
    }

    /// Turns this standby into a primary (`pg_ctl promote`), waiting until it is.
    public func promote() throws {
        try Self.check(
            Self.run(
                asPostgres, try Self.binaries().appendingPathComponent("pg_ctl").path,
                ["promote", "-w", "-D", folder.appendingPathComponent("data").path]), "pg_ctl promote")
    }

    /// Kills the server at once, as a power cut would: SIGKILL to its postmaster and to
    /// every process it started (found by their parent's process id).
    public func crash() {
        guard process.isRunning else { return }
        Self.killWithChildren(process)
    }

    deinit { stop() }

    /// A new, empty database on this server (copied from the template's files, not written
    /// through the write-ahead log); its name.
    public func createDatabase() throws -> String {
        let name = "warden_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try Self.check(psql("CREATE DATABASE \(name) STRATEGY FILE_COPY", database: "postgres"), "CREATE DATABASE")
        return name
    }

    /// The URI of `database` on this server, over loopback without TLS.
    public func uri(database: String) -> String {
        "postgresql://\(Self.user)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Runs `sql` with `psql` on `database`.
    public func psql(_ sql: String, database: String) throws -> PostgresClusterOutput {
        try Self.execute(
            "psql",
            ["-X", "-q", "-t", "-A", "-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "-d", database, "-c", sql],
            environment: ["PGPASSWORD": password])
    }

    /// Stops the server by its process id (SIGINT, fast shutdown; SIGKILL after five
    /// seconds) and removes its folder.
    public func stop() {
        Self.stop(process)
        try? FileManager.default.removeItem(at: folder)
    }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGINT)
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning { killWithChildren(process) }
        process.waitUntilExit()
    }

    /// SIGKILL to the postmaster and to every process it started (found by their parent's
    /// process id), stopping the postmaster first so that it starts no more.
    private static func killWithChildren(_ process: Process) {
        let postmaster = process.processIdentifier
        kill(postmaster, SIGSTOP)
        for child in children(of: postmaster) { kill(child, SIGKILL) }
        kill(postmaster, SIGKILL)
        process.waitUntilExit()
    }

    /// The processes whose parent is `pid`, from /proc.
    private static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            // After "pid (name) state ", the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    private static func waitUntilAccepting(port: Int, process: Process) -> Bool {
        for _ in 0..<200 {
            guard process.isRunning else { return false }
            if let ready = try? Self.execute("pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(port)"]),
                ready.status == 0
            {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    private static func run(_ prefix: [String], _ program: String, _ arguments: [String]) throws
        -> PostgresClusterOutput
    {
        let command = prefix + [program] + arguments
        return try Self.execute(command[0], Array(command.dropFirst()))
    }

    private static func check(_ result: PostgresClusterOutput, _ what: String) throws {
        guard result.status == 0 else { throw PostgresClusterError("\(what) failed: \(result.stderr)") }
    }
}

/// What a program the cluster ran printed, and how it ended.
public struct PostgresClusterOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// A cluster that could not be made, started or driven.
public struct PostgresClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension PostgresCluster {
    /// A new folder of the cluster's own under the system's temporary directory.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("warden-postgres-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs `program` (looked up in PATH) with `environment` added, and waits for it.
    static func execute(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> PostgresClusterOutput
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errors = PipeDrain(err)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return PostgresClusterOutput(
            status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
            stderr: String(decoding: errors.finish(), as: UTF8.self))
    }

    /// Starts `program` (looked up in PATH), its output going to `log`.
    static func launch(_ program: String, _ arguments: [String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        // The child inherits this thread's signal mask: a blocked SIGINT (test runners block
        // some) would make the server ignore its fast shutdown.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP] { sigaddset(&wanted, signal) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        try process.run()
        return process
    }
}

/// Reads a pipe to its end on another thread, so that neither of a child's pipes fills up.
private final class PipeDrain: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        Thread.detachNewThread { [self] in
            data = pipe.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
    }

    func finish() -> Data {
        done.wait()
        return data
    }
}
