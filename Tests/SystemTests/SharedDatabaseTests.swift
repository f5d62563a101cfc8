import Foundation
import LocalPostgres
import Testing
import TestSupport

/// `warden serve` on PostgreSQL: it stays up while its database is gone, answers `503` with
/// `Retry-After` meanwhile (never a 500, never a release), and carries on against the
/// promoted standby without a restart.
@Suite struct SharedDatabaseTests {
    /// Status and headers of a GET with curl (`--cacert` for the HTTPS API).
    private func get(_ url: String, caFile: String? = nil) throws -> (status: Int, headers: String) {
        let result = try Command.run(
            "curl",
            ["-sS", "-o", "/dev/null", "-D", "-", "--max-time", "20", "-w", "%{http_code}"]
                + (caFile.map { ["--cacert", $0] } ?? []) + [url])
        guard let status = Int(result.stdout.suffix(3)) else {
            throw CommandFailure("curl \(url): \(result.status) \(result.stdout) \(result.stderr)")
        }
        return (status, result.stdout.lowercased())
    }

    @Test func anApplianceRidesOutAFailOverWithoutRestarting() throws {
        let primary = try PostgresCluster()
        defer { primary.stop() }
        let database = try primary.createDatabase()
        let standby = try primary.standby()
        defer { standby.stop() }
        // Commits wait for the standby: nothing acknowledged is lost when the primary dies.
        _ = try primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby'", database: "postgres")
        _ = try primary.psql("SELECT pg_reload_conf()", database: "postgres")
        let secrets = try TestPaths.temporaryDirectory("database-password")
        let passwordFile = secrets.appendingPathComponent("password")
        try Data((primary.password + "\n").utf8).write(to: passwordFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile.path)
        let server = try WardenServerProcess(environment: [
            "WARDEN_DATABASE":
                "postgresql://warden@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/\(database)?sslmode=disable",
            "WARDEN_DATABASE_PASSWORD_FILE": passwordFile.path,
        ])
        let pid = server.pid
        let api = server.url
        let boot = "http://127.0.0.1:\(try server.bootHTTPPort())/boot.ipxe?mac=52:54:00:12:34:56&uuid=x&platform=efi"
        #expect(try get(api + "/healthz", caFile: server.serverCA).status == 200)
        #expect(try get(api + "/readyz", caFile: server.serverCA).status == 200)

        let tpm = try enrolledTPM(on: server)
        let out = server.folder
        try expectSuccess(
            server.agent("attest", tcti: tpm.tcti, ["--out", out.appendingPathComponent("unlocked-1").path]))
        let key = try TestPaths.bytes(out.appendingPathComponent("unlocked-1/disk.key"))

        primary.crash()
        for url in [api + "/readyz", boot] {
            let answer = try get(url, caFile: server.serverCA)
            #expect(answer.status == 503 && answer.headers.contains("retry-after: "), "\(url): \(answer)")
        }
        let refused = try server.agent(
            "attest", tcti: tpm.tcti, ["--out", out.appendingPathComponent("unlocked-2").path])
        #expect(refused.status != 0 && refused.stderr.contains("the database is unavailable"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("unlocked-2/disk.key").path))
        #expect(try get(api + "/healthz", caFile: server.serverCA).status == 200, "the process stays up")

        try standby.promote()
        try expectSuccess(
            server.agent("attest", tcti: tpm.tcti, ["--out", out.appendingPathComponent("unlocked-3").path]))
        #expect(sameSecret(try TestPaths.bytes(out.appendingPathComponent("unlocked-3/disk.key")), key))
        #expect(try get(api + "/readyz", caFile: server.serverCA).status == 200)
        let starts =
            try String(contentsOf: server.log, encoding: .utf8).components(separatedBy: "msg=\"serving https://").count
            - 1
        #expect(starts == 1 && kill(pid, 0) == 0, "the appliance was not restarted")
        // The operator reads the outage in the log: when it began and why, and when it ended,
        // once each however many requests met it.
        let outage = try loggedLines(in: server, containing: "component=store.postgres", count: 2)
        #expect(outage.count == 2, "\(outage)")
        #expect(
            outage.first?.contains("level=warning component=store.postgres msg=\"database unavailable\" cause=") == true
        )
        #expect(
            outage.last?.contains("level=notice component=store.postgres msg=\"database available again\"") == true
                && outage.last?.contains("host=127.0.0.1:\(standby.port)") == true, "\(outage)")
        // It names each host and what it answered, never the password.
        #expect(outage.first?.contains("127.0.0.1:\(standby.port): a standby (read-only)") == true, "\(outage)")
        #expect(!(try String(contentsOf: server.log, encoding: .utf8)).contains(primary.password))
    }

    /// The log's lines that contain `text`, once there are `count` of them or ten seconds
    /// passed (the log's own thread writes each a moment after it happened).
    private func loggedLines(in server: WardenServerProcess, containing text: String, count: Int) throws -> [String] {
        var lines: [String] = []
        for _ in 0..<100 {
            lines = try String(contentsOf: server.log, encoding: .utf8).split(separator: "\n").map(String.init)
                .filter { $0.contains(text) }
            if lines.count >= count { break }
            usleep(100_000)
        }
        return lines
    }

    /// Two appliances on one database: a node that names both unlocks through the second
    /// when the first is killed, and every release of both is in the one audit chain.
    @Test func aNodeUnlocksThroughTheOtherApplianceWhenOneDies() throws {
        let database = try PostgresCluster()
        defer { database.stop() }
        let name = try database.createDatabase()
        let secrets = try TestPaths.temporaryDirectory("database-password")
        let passwordFile = secrets.appendingPathComponent("password")
        try Data(database.password.utf8).write(to: passwordFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile.path)
        let shared = [
            "WARDEN_DATABASE": database.uri(database: name), "WARDEN_DATABASE_PASSWORD_FILE": passwordFile.path,
        ]
        let a = try WardenServerProcess(environment: shared)
        let b = try a.joined(environment: shared)
        let tpm = try enrolledTPM(on: a)
        let out = a.folder
        try expectSuccess(
            a.agent("attest", tcti: tpm.tcti, ["--out", out.appendingPathComponent("via-a").path], also: [b]))
        let key = try TestPaths.bytes(out.appendingPathComponent("via-a/disk.key"))

        a.stop(signal: SIGKILL)
        let failedOver = try a.agent(
            "attest", tcti: tpm.tcti, ["--out", out.appendingPathComponent("via-b").path], also: [b])
        try expectSuccess(failedOver)
        #expect(failedOver.stderr.contains("\(a.url): ") && failedOver.stderr.contains("trying the next appliance"))
        #expect(sameSecret(try TestPaths.bytes(out.appendingPathComponent("via-b/disk.key")), key))
        // One chain, written by both appliances, that an auditor's export from B verifies end to end.
        let auditor = out.appendingPathComponent("auditor")
        try expectSuccess(b.cli(["operator", "add", "auditor-1", "--role", "auditor", "--out", auditor.path]))
        let bundle = out.appendingPathComponent("audit.tar.gz").path
        try expectSuccess(b.cli(["audit", "export", "--out", bundle], identity: auditor))
        let auditKey = out.appendingPathComponent("audit-key.pem").path
        try expectSuccess(
            Command.run(
                "openssl",
                ["pkey", "-in", b.stateDir.appendingPathComponent("audit.key").path, "-pubout", "-out", auditKey]))
        let verified = try Command.run(TestPaths.wardenBinary.path, ["audit", "verify", bundle, "--key", auditKey])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let releases = try b.cli(["machine", "show", "node-1", "--format", "json"])
        let shown = try JSONSerialization.jsonObject(with: Data(releases.stdout.utf8)) as? [String: Any]
        let attestations = shown?["attestations"] as? [[String: Any]] ?? []
        #expect(attestations.filter { $0["passed"] as? Bool == true }.count == 2, "one through each appliance")
        let (nameA, nameB) = (
            a.environment["WARDEN_APPLIANCE_NAME"] ?? "", b.environment["WARDEN_APPLIANCE_NAME"] ?? ""
        )
        let listed = try appliance(["list", "--format", "json"], on: b)
        let appliances = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(appliances.map { $0["name"] as? String } == [nameA, nameB].sorted())
        #expect(appliances.allSatisfy { $0["state"] as? String == "active" })

        // B removes A for good: A may not serve again, even from its own state folder.
        try expectSuccess(try appliance(["remove", nameA], on: b))
        #expect(throws: CommandFailure.self) { try a.restart() }
        #expect(try String(contentsOf: a.log, encoding: .utf8).contains("appliance \(nameA) was removed"))

        // A bundle joins once: replayed, it is refused and leaves no key in the new folder.
        let passphrase = out.appendingPathComponent("passphrase")
        try Data("another passphrase, carried apart\n".utf8).write(to: passphrase)
        chmod(passphrase.path, 0o600)
        let bundleFile = out.appendingPathComponent("join-c.bundle").path
        try expectSuccess(
            try appliance(["export-join", "--out", bundleFile, "--passphrase-file", passphrase.path], on: b))
        var joinedFolder: URL?
        for (name, expected) in [("appliance-c", Int32(0)), ("appliance-d", Int32(1))] {
            let folder = try TestPaths.temporaryDirectory("joiner").appendingPathComponent(".warden")
            if expected == 0 { joinedFolder = folder }
            let joined = try Command.run(
                TestPaths.wardenBinary.path,
                ["appliance", "join", bundleFile, "--state-dir", folder.path, "--passphrase-file", passphrase.path],
                environment: shared.merging(["WARDEN_APPLIANCE_NAME": name]) { $1 })
            #expect(joined.status == expected, "\(name): \(joined.stderr)")
            if expected != 0 {
                #expect(joined.stderr.contains("this join bundle was used already (by appliance appliance-c)"))
                #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("kek.key").path))
            }
        }

        // After the removal, B rotates the key-encryption key: B, running, releases the same disk
        // key under the new one without a restart; C takes it from the key bundle.
        let keyBundle = out.appendingPathComponent("keys.bundle").path
        try expectSuccess(
            try keys(
                ["rotate", "--out", keyBundle, "--passphrase-file", passphrase.path], on: b.stateDir, b.environment))
        let rotatedKey = try TestPaths.bytes(b.stateDir.appendingPathComponent("kek.key"))
        let removedList = out.appendingPathComponent("removed-appliances").path
        let afterRotation = try b.agent(
            "attest", tcti: tpm.tcti,
            ["--out", out.appendingPathComponent("rotated").path, "--removed-appliances", removedList])
        try expectSuccess(afterRotation)
        #expect(afterRotation.stderr.contains("\(removedList) now lists 1 removed appliance(s), refused from now on"))
        #expect(sameSecret(try TestPaths.bytes(out.appendingPathComponent("rotated/disk.key")), key))
        try expectNodeRefusesRemoved(a, besides: b, tpm: tpm, list: removedList)
        let c = try #require(joinedFolder)
        try expectSuccess(
            try keys(
                ["import", keyBundle, "--passphrase-file", passphrase.path], on: c,
                shared.merging(["WARDEN_APPLIANCE_NAME": "appliance-c"]) { $1 }))
        #expect(sameSecret(try TestPaths.bytes(c.appendingPathComponent("kek.key")), rotatedKey))
    }

    /// The release after `removed`'s removal listed its server certificate, which the node
    /// kept in `list`; the node then refuses a server presenting that certificate (a removed
    /// appliance still running, or whoever took its key) and unlocks through `other`.
    private func expectNodeRefusesRemoved(
        _ removed: WardenServerProcess, besides other: WardenServerProcess, tpm: SoftwareTPM, list: String
    ) throws {
        let certificate = removed.stateDir.appendingPathComponent("server.pem").path
        let digest = try Command.run(
            "sh", ["-c", "openssl x509 -in \"$1\" -outform DER | sha256sum | cut -d ' ' -f 1", "sh", certificate])
        #expect(try String(contentsOfFile: list, encoding: .utf8) == digest.stdout)
        let impostorLog = removed.folder.appendingPathComponent("impostor.log")
        var impostor: Process?
        var url = ""
        for _ in 0..<10 where impostor == nil {
            let port = Int.random(in: 40_000..<60_000)
            let started = try Command.start(
                "openssl",
                [
                    "s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key",
                    removed.stateDir.appendingPathComponent("server.key").path, "-www",
                ], log: impostorLog)
            for _ in 0..<50 where started.isRunning {
                if (try? String(contentsOf: impostorLog, encoding: .utf8))?.contains("ACCEPT") == true { break }
                usleep(100_000)
            }
            if started.isRunning {
                (impostor, url) = (started, "https://127.0.0.1:\(port)")
            }
        }
        let running = try #require(impostor, "openssl s_server did not start: see \(impostorLog.path)")
        defer {
            running.terminate()
            running.waitUntilExit()
        }
        let node = try Command.run(
            TestPaths.agentBinary.path,
            [
                "attest", "--server", url, "--server", other.url, "--ca", other.serverCA, "--tcti", tpm.tcti,
                "--patience", "0", "--removed-appliances", list, "--out",
                removed.folder.appendingPathComponent("past-impostor").path,
            ], in: removed.folder)
        try expectSuccess(node)
        #expect(
            node.stderr.contains(
                "\(url): the server is not trusted: its certificate is one of an appliance an operator removed; "
                    + "trying the next appliance"), "\(node.stderr)")
    }

    /// `warden keys SUBCOMMAND` on the state folder `state`, with `settings`.
    private func keys(_ arguments: [String], on state: URL, _ settings: [String: String]) throws -> CommandResult {
        try Command.run(
            TestPaths.wardenBinary.path, ["keys"] + arguments + ["--state-dir", state.path], environment: settings)
    }

    /// `warden appliance SUBCOMMAND` on `server`'s state folder, with its settings.
    private func appliance(_ arguments: [String], on server: WardenServerProcess) throws -> CommandResult {
        try Command.run(
            TestPaths.wardenBinary.path, ["appliance"] + arguments + ["--state-dir", server.stateDir.path],
            environment: server.environment)
    }

    /// A software TPM whose EK `server` enrols as machine node-1, through the CLI.
    private func enrolledTPM(on server: WardenServerProcess) throws -> SoftwareTPM {
        let tpm = try SoftwareTPM()
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        try expectSuccess(
            server.cli(["machine", "enroll", "node-1", "--ek", tpm.folder.appendingPathComponent("ek.pub").path]))
        return tpm
    }

    private func expectSuccess(_ result: CommandResult) throws {
        guard result.status == 0 else {
            throw CommandFailure("exit \(result.status): \(result.stderr)\(result.stdout)")
        }
    }
}
