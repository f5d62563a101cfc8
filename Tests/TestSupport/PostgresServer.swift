import Foundation
import Testing

/// A PostgreSQL server of the tests' own: a new cluster (`initdb`) in a temporary folder,
/// listening on a loopback port and on a Unix socket in that folder, with SCRAM-SHA-256
/// passwords. When the tests run as root it runs as the `postgres` user (PostgreSQL refuses
/// root). It is stopped by its process id; a cluster Debian's package started is never touched.
public final class PostgresServer: @unchecked Sendable {
    /// The superuser the cluster is made with, and the one the store signs in as.
    public static let user = "warden"
    public let folder: URL
    public let port: Int
    /// The password, in a file as `WARDEN_DATABASE_PASSWORD_FILE` names one.
    public let passwordFile: URL
    public let password: String
    private let process: Process
    private let asPostgres: [String]

    /// The server of the suite that runs now (``PostgresServerTrait``).
    @TaskLocal public static var current: PostgresServer?

    /// The server of the suite that runs now; an error naming the trait when it has none.
    public static func forThisSuite() throws -> PostgresServer {
        guard let current else { throw CommandFailure("this suite needs the .postgresServer trait") }
        return current
    }

    /// The folder holding PostgreSQL's server programs (`initdb`, `postgres`), newest version first.
    public static func binaries() throws -> URL {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw CommandFailure("PostgreSQL's server is not installed (Debian's postgresql package; make deps)")
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
                    "-D", data, "-U", PostgresServer.user, "--pwfile", passwordFile.path, "--auth=scram-sha-256",
                    "-E", "UTF8", "--locale=C", "--no-sync",
                ])
        }
    }

    /// A streaming standby of this server (`pg_basebackup -R`), started, with its own port and folder.
    public func standby(settings: [String] = []) throws -> PostgresServer {
        let primary = "host=127.0.0.1 port=\(port) user=\(Self.user) password=\(password) application_name=standby"
        return try PostgresServer(password: password, settings: settings) { _, data, run in
            try run("pg_basebackup", ["-D", data, "-R", "-X", "stream", "-c", "fast", "-d", primary])
        }
    }

    /// Makes a cluster's data folder with `make` (given the folder, the data folder and a way
    /// to run a server program as the cluster's owner), then starts it on a free port.
    private init(
        password: String, settings: [String],
        make: (URL, String, (String, [String]) throws -> Void) throws -> Void
    ) throws {
        folder = try TestPaths.temporaryDirectory("postgres")
        asPostgres = geteuid() == 0 ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"] : []
        self.password = password
        passwordFile = folder.appendingPathComponent("password")
        try Data(password.utf8).write(to: passwordFile)
        if geteuid() == 0 {
            try Self.check(Command.run("chown", ["-R", "postgres:postgres", folder.path]), "chown")
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
            let process = try Command.start(
                arguments[0], Array(arguments.dropFirst()), log: folder.appendingPathComponent("postgres.log"))
            if Self.waitUntilAccepting(port: port, process: process) {
                self.process = process
                self.port = port
                return
            }
            Self.stop(process)
        }
        throw CommandFailure("postgres did not start on any of 20 ports: see \(folder.path)/postgres.log")
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
        let postmaster = process.processIdentifier
        kill(postmaster, SIGSTOP)
        for child in Self.children(of: postmaster) { kill(child, SIGKILL) }
        kill(postmaster, SIGKILL)
        process.waitUntilExit()
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
    public func psql(_ sql: String, database: String) throws -> CommandResult {
        try Command.run(
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
        if process.isRunning { kill(pid, SIGKILL) }
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
            if let ready = try? Command.run("pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(port)"]), ready.status == 0
            {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    private static func run(_ prefix: [String], _ program: String, _ arguments: [String]) throws -> CommandResult {
        let command = prefix + [program] + arguments
        return try Command.run(command[0], Array(command.dropFirst()))
    }

    private static func check(_ result: CommandResult, _ what: String) throws {
        guard result.status == 0 else { throw CommandFailure("\(what) failed: \(result.stderr)") }
    }
}

/// Gives a suite a PostgreSQL server of its own (``PostgresServer/current``), started
/// before its first test and stopped after its last.
public struct PostgresServerTrait: SuiteTrait, TestScoping {
    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try await PostgresServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == PostgresServerTrait {
    /// A PostgreSQL server of the suite's own.
    public static var postgresServer: Self { PostgresServerTrait() }
}
