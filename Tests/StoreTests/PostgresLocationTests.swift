import Store
import Testing

/// Database URIs read as libpq reads them, and refused where a secret or a mistake would pass.
@Suite struct PostgresLocationTests {
    @Test func severalHostsPortsAndParametersAreRead() throws {
        let location = try PostgresLocation(
            uri:
                "postgresql://warden@db1:5433,db2,[fd00::5]:6543/attest?sslmode=verify-full&sslrootcert=/etc/warden/db-ca.pem&target_session_attrs=read-write&connect_timeout=3&application_name=warden-a"
        )
        #expect(
            location.hosts == [
                .init(name: "db1", port: 5433), .init(name: "db2", port: 5432), .init(name: "fd00::5", port: 6543),
            ])
        #expect(location.hosts.map(\.description) == ["db1:5433", "db2:5432", "[fd00::5]:6543"])
        #expect(location.user == "warden" && location.database == "attest")
        #expect(location.sslMode == .verifyFull && location.sslRootCertificate == "/etc/warden/db-ca.pem")
        #expect(location.connectTimeout == 3 && location.applicationName == "warden-a")
    }

    @Test func socketFoldersAndQueryHostsAreRead() throws {
        let encoded = try PostgresLocation(uri: "postgres://warden@%2Fvar%2Frun%2Fpostgresql/warden")
        #expect(encoded.hosts == [.init(name: "/var/run/postgresql")])
        #expect(encoded.hosts[0].isSocketFolder && encoded.hosts[0].socketPath == "/var/run/postgresql/.s.PGSQL.5432")
        let query = try PostgresLocation(uri: "postgresql:///warden?host=/tmp,/run&port=6000,6001&user=ops")
        #expect(query.hosts == [.init(name: "/tmp", port: 6000), .init(name: "/run", port: 6001)])
        #expect(query.user == "ops" && query.database == "warden" && query.sslMode == .prefer)
    }

    @Test func aPasswordInTheURIIsRefusedWithoutRepeatingIt() {
        for uri in [
            "postgresql://warden:hunter2-secret@db1/warden", "postgresql://warden@db1/warden?password=hunter2-secret",
        ] {
            #expect(throws: PostgresLocationError.passwordInURI) { try PostgresLocation(uri: uri) }
        }
        #expect(!PostgresLocationError.passwordInURI.description.contains("hunter2"))
        #expect(PostgresLocationError.passwordInURI.description.contains("WARDEN_DATABASE_PASSWORD_FILE"))
    }

    @Test func mistakesAreNamed() {
        let refusals: [(String, PostgresLocationError)] = [
            ("mysql://warden@db1/warden", .notPostgres),
            ("postgresql://db1/warden", .missing("a user name (postgresql://USER@HOST/DATABASE)")),
            ("postgresql://warden@/warden", .missing("a host")),
            ("postgresql://warden@db1:99999/warden", .malformed("port 99999")),
            (
                "postgresql://warden@db1/warden?sslmode=verify-full",
                .missing(
                    "sslrootcert: sslmode verify-full checks the server against it")
            ),
            (
                "postgresql://warden@db1/warden?sslmode=sometimes",
                .malformed(
                    "sslmode sometimes: one of disable, prefer, require, verify-ca, verify-full")
            ),
            (
                "postgresql://warden@db1/warden?target_session_attrs=read-only",
                .malformed(
                    "target_session_attrs read-only: the store needs read-write")
            ),
            ("postgresql://warden@db1/warden?sslcert=/c.pem", .missing("sslcert and sslkey go together")),
            ("postgresql://warden@db1/warden?keepalives=1", .unknownParameter("keepalives")),
        ]
        for (uri, refusal) in refusals {
            #expect(throws: refusal, "\(uri)") { try PostgresLocation(uri: uri) }
        }
    }
}
