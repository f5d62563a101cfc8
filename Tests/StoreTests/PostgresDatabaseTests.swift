import Foundation
import LocalPostgres
@testable import Store
import Testing
import TestSupport
import WardenCrypto

/// The PostgreSQL backend against real servers: what an operator sees when the database
/// setting is wrong, and a store that finds the writable server by itself.
@Suite(.postgresServer) struct PostgresDatabaseTests {
    private func open(_ uri: String, password: String?) throws -> EnrolmentStore {
        let folder = try TestPaths.temporaryDirectory("postgres-store")
        return try EnrolmentStore(
            location: .postgres(try PostgresLocation(uri: uri), password: password.map { Secret(text: $0) }),
            key: try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path))
    }

    /// The error `open` throws, as an operator reads it.
    private func startupError(_ uri: String, password: String?) -> String {
        do {
            _ = try open(uri, password: password)
            return "opened"
        } catch {
            return "\(error)"
        }
    }

    @Test func aWrongPasswordAndAnUnreachableHostAreNamed() throws {
        let server = try PostgresCluster.forThisSuite()
        let database = try server.createDatabase()
        let wrong = startupError(server.uri(database: database), password: "not-the-password")
        #expect(wrong.contains("127.0.0.1:\(server.port): password authentication failed for user warden"), "\(wrong)")
        #expect(!wrong.contains("not-the-password"))
        let closedPort = server.port == 65_000 ? 65_001 : 65_000
        let unreachable = startupError(
            "postgresql://warden@127.0.0.1:\(closedPort)/\(database)?sslmode=disable", password: server.password)
        #expect(unreachable.contains("127.0.0.1:\(closedPort): connection refused"), "\(unreachable)")
        let missing = startupError(server.uri(database: "no_such_database"), password: server.password)
        #expect(missing.contains("database no_such_database does not exist"), "\(missing)")
    }

    @Test func theServerGivesUpOnASilentApplianceToo() throws {
        let server = try PostgresCluster.forThisSuite()
        let store = try open(server.uri(database: try server.createDatabase()), password: server.password)
        let settings = try store.read { db in
            try ["idle_in_transaction_session_timeout", "tcp_keepalives_idle", "application_name"].map {
                try String.fetchOne(db, sql: "SELECT current_setting(?)", arguments: [$0]) ?? ""
            }
        }
        #expect(settings == ["30s", "10", "warden"])
    }

    /// A query a connection runs again becomes a named statement of that connection, and
    /// answers as it did unnamed, whatever its arguments' types (a NULL's included). Its plan,
    /// made once, prefers an index to a scan at any table size.
    @Test func aQueryRunAgainIsPreparedAndAnswersTheSame() throws {
        let server = try PostgresCluster.forThisSuite()
        let store = try open(server.uri(database: try server.createDatabase()), password: server.password)
        let when = Date(timeIntervalSince1970: 1_700_000_000.25)
        let query = """
            SELECT ? + 1 AS integer, ? || '!' AS text, length(?) AS length, ? AS date, NOT ? AS flag, ? * 2 AS real,
                COALESCE(?, 'none') AS absent, '?' AS mark
            """
        let arguments: SQLArguments = [Int64(41), "it's", Data([0, 1, 2]), when, false, 1.25, nil]
        // One connection: reads one after the other take the same one back from the pool,
        // and a query is prepared between two of its transactions, once it was seen twice.
        let answers = try (0..<4).map { _ in
            try store.read { db in try #require(try SQLRow.fetchOne(db, sql: query, arguments: arguments)) }
        }
        for row in answers {
            #expect(row["integer"] as Int64 == 42)
            #expect(row["text"] as String == "it's!")
            #expect(row["length"] as Int64 == 3)
            #expect(row["date"] as Date == when)
            #expect(row["flag"] as Bool == true)
            #expect(row["real"] as Double == 2.5)
            #expect(row["absent"] as String == "none")
            #expect(row["mark"] as String == "?")
        }
        let (prepared, sequentialScans) = try store.read { db in
            (
                try SQLRow.fetchAll(db, sql: "SELECT statement FROM pg_prepared_statements").map {
                    $0["statement"] as String
                },
                try String.fetchOne(db, sql: "SELECT current_setting('enable_seqscan')")
            )
        }
        #expect(sequentialScans == "off")
        #expect(prepared.contains { $0.contains("$1::bigint + 1 AS integer") && $0.contains("COALESCE($7, 'none')") })
    }

    /// A table that gains a column (another appliance's migration, say) changes what a
    /// prepared `SELECT *` returns, which PostgreSQL refuses: that statement fails once and
    /// runs unnamed from then on.
    @Test func aPreparedStatementMadeStaleRunsUnnamedAfterItsFirstRefusal() throws {
        let server = try PostgresCluster.forThisSuite()
        let store = try open(server.uri(database: try server.createDatabase()), password: server.password)
        try store.write { db in
            try db.execute(sql: "CREATE TABLE probe (a BIGINT)")
            try db.execute(sql: "INSERT INTO probe (a) VALUES (1)")
        }
        func probe() throws -> Int {
            try store.read { db in
                try SQLRow.fetchAll(db, sql: "SELECT * FROM probe WHERE a = ?", arguments: [Int64(1)])
            }
            .first?.values.count ?? 0
        }
        for _ in 0..<4 { #expect(try probe() == 1) }
        _ = try store.write { db in try db.execute(sql: "ALTER TABLE probe ADD COLUMN b BIGINT") }
        #expect(throws: StoreError.self, "the prepared statement's result changed") { try probe() }
        #expect(try probe() == 2)
    }

    @Test func aPasswordGoesOnlyToACheckedOrLocalServer() throws {
        let refused = startupError("postgresql://warden@db.example:5432/warden?sslmode=require", password: "secret-1")
        #expect(refused.contains("goes only to a server whose certificate is checked"), "\(refused)")
        #expect(!refused.contains("secret-1"))
    }

    @Test func theWritableServerIsFoundPastAStandbyAndAnUnreachableHost() throws {
        let primary = try PostgresCluster.forThisSuite()
        let database = try primary.createDatabase()
        let standby = try primary.standby()
        defer { standby.stop() }
        let store = try open(
            "postgresql://warden@127.0.0.1:1,127.0.0.1:\(standby.port),127.0.0.1:\(primary.port)/\(database)?sslmode=disable",
            password: primary.password)
        try store.audit(actor: "test", action: "event", subject: "thing", details: "written to the primary")
        #expect(try store.auditRecords(subjectPrefix: "thing").count == 1)
    }

    /// The primary dies, its synchronous standby is promoted: the same store object carries
    /// on against the new primary, with every write the old one acknowledged.
    @Test func aPromotedStandbyTakesOverTheSameStore() throws {
        let first = try PostgresCluster()
        defer { first.stop() }
        let database = try first.createDatabase()
        let standby = try first.standby()
        defer { standby.stop() }
        _ = try first.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby'", database: "postgres")
        _ = try first.psql("SELECT pg_reload_conf()", database: "postgres")
        let store = try open(
            "postgresql://warden@127.0.0.1:\(first.port),127.0.0.1:\(standby.port)/\(database)?sslmode=disable",
            password: first.password)
        for index in 0..<20 {
            try store.audit(actor: "test", action: "event", subject: "before/\(index)", details: "acknowledged")
        }
        first.crash()
        #expect(throws: StoreError.self, "a write to a dead primary is refused, never lost silently") {
            try store.audit(actor: "test", action: "event", subject: "during", details: "nowhere to go")
        }
        try standby.promote()
        try store.audit(actor: "test", action: "event", subject: "after", details: "on the promoted standby")
        let records = try store.auditRecords(subjectPrefix: "")
        #expect(records.map(\.subject) == (0..<20).map { "before/\($0)" } + ["after"])
        for (earlier, later) in zip(records, records.dropFirst()) { #expect(later.previousHash == earlier.hash) }
    }
}

/// TLS to PostgreSQL as `sslmode` asks for it, against a server with a certificate of the test's own CA.
@Suite struct PostgresTLSTests {
    /// A CA, and a certificate it issued for `name` with its key; PEM files in `folder`.
    private func issue(for name: String, in folder: URL) throws -> (ca: String, certificate: String, key: String) {
        let ca = folder.appendingPathComponent("ca").path
        let server = folder.appendingPathComponent("server").path
        for arguments in [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=test database CA", "-keyout", ca + ".key", "-out", ca + ".pem",
            ],
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-subj", "/CN=\(name)", "-keyout", server + ".key", "-out", server + ".csr",
            ],
            [
                "x509", "-req", "-in", server + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-days", "2",
                "-extfile", "/dev/stdin", "-out", server + ".pem",
            ],
        ] {
            let result =
                arguments[0] == "x509"
                ? try Command.run(
                    "bash", ["-c", "printf 'subjectAltName=DNS:\(name)' | openssl " + arguments.joined(separator: " ")])
                : try Command.run("openssl", arguments)
            guard result.status == 0 else { throw CommandFailure("openssl \(arguments[0]): \(result.stderr)") }
        }
        if geteuid() == 0 { _ = try Command.run("chown", ["-R", "postgres:postgres", folder.path]) }
        _ = try Command.run("chmod", ["600", server + ".key"])
        return (ca + ".pem", server + ".pem", server + ".key")
    }

    private func startupError(_ uri: String, password: String) -> String {
        do {
            let folder = try TestPaths.temporaryDirectory("postgres-tls-store")
            let store = try EnrolmentStore(
                location: .postgres(try PostgresLocation(uri: uri), password: Secret(text: password)),
                key: try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path))
            try store.audit(actor: "test", action: "event", subject: "tls", details: "over TLS")
            return "opened"
        } catch {
            return "\(error)"
        }
    }

    /// A server that dies under a TLS connection while a prepared statement is under way:
    /// the statement fails as unavailable (an agent is told to come back), never as an
    /// internal error.
    @Test func aServerThatDiesUnderTLSMakesTheStoreUnavailable() throws {
        let files = try issue(for: "localhost", in: try TestPaths.temporaryDirectory("postgres-tls-crash"))
        let server = try PostgresCluster(settings: [
            "ssl=on", "ssl_cert_file=\(files.certificate)", "ssl_key_file=\(files.key)",
        ])
        defer { server.stop() }
        let database = try server.createDatabase()
        let folder = try TestPaths.temporaryDirectory("postgres-tls-store")
        let store = try EnrolmentStore(
            location: .postgres(
                try PostgresLocation(
                    uri:
                        "postgresql://warden@localhost:\(server.port)/\(database)?sslmode=verify-full&sslrootcert=\(files.ca)"
                ), password: Secret(text: server.password)),
            key: try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path))
        func sleep(_ seconds: Double) throws {
            _ = try store.read { db in
                try SQLRow.fetchOne(db, sql: "SELECT 1 AS slept FROM pg_sleep(?)", arguments: [seconds])
            }
        }
        // Seen twice, prepared between two transactions, and then run prepared: the last
        // one is under way when the server dies.
        for _ in 0..<4 { try sleep(0) }
        let crashing = Thread {
            Thread.sleep(forTimeInterval: 0.5)
            server.crash()
        }
        crashing.start()
        do {
            try sleep(3)
            Issue.record("a statement on a dead server succeeded")
        } catch {
            guard let error = error as? StoreError, case .unavailable = error else {
                Issue.record("refused as \(error), not as unavailable")
                return
            }
        }
    }

    @Test func verifyFullChecksTheCertificatesIssuerAndName() throws {
        let files = try issue(for: "localhost", in: try TestPaths.temporaryDirectory("postgres-tls"))
        let strangers = try issue(for: "localhost", in: try TestPaths.temporaryDirectory("postgres-tls-other"))
        let elsewhere = try issue(for: "db.example", in: try TestPaths.temporaryDirectory("postgres-tls-name"))
        let server = try PostgresCluster(settings: [
            "ssl=on", "ssl_cert_file=\(files.certificate)", "ssl_key_file=\(files.key)",
        ])
        defer { server.stop() }
        let database = try server.createDatabase()
        func uri(_ query: String) -> String { "postgresql://warden@localhost:\(server.port)/\(database)?\(query)" }
        #expect(startupError(uri("sslmode=verify-full&sslrootcert=\(files.ca)"), password: server.password) == "opened")
        #expect(startupError(uri("sslmode=require"), password: server.password) == "opened")
        let foreign = startupError(uri("sslmode=verify-full&sslrootcert=\(strangers.ca)"), password: server.password)
        #expect(foreign.contains("not signed by the CA in sslrootcert \(strangers.ca)"), "\(foreign)")
        let namedElsewhere = try PostgresCluster(settings: [
            "ssl=on", "ssl_cert_file=\(elsewhere.certificate)", "ssl_key_file=\(elsewhere.key)",
        ])
        defer { namedElsewhere.stop() }
        let misnamed = startupError(
            "postgresql://warden@localhost:\(namedElsewhere.port)/postgres?sslmode=verify-full&sslrootcert=\(elsewhere.ca)",
            password: namedElsewhere.password)
        #expect(misnamed.contains("does not name the host"), "\(misnamed)")
        #expect(
            startupError(
                "postgresql://warden@localhost:\(namedElsewhere.port)/postgres?sslmode=verify-ca&sslrootcert=\(elsewhere.ca)",
                password: namedElsewhere.password) == "opened", "verify-ca does not check the name")
    }
}
