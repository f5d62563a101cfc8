import Foundation
import LocalPostgres

/// The database a benchmark's appliances share.
enum BenchDatabase: String, CaseIterable {
    /// SQLite in the (one) appliance's state folder: WAL, synchronous=FULL.
    case sqlite
    /// A PostgreSQL cluster of the benchmark's own, alone: synchronous_commit=on, fsync=on.
    case postgres
    /// The same with a streaming standby that every commit waits for.
    case postgresStandby = "postgres-standby"

    var summary: String {
        switch self {
        case .sqlite: "durable SQLite (WAL, synchronous=FULL)"
        case .postgres: "PostgreSQL 15 on loopback (synchronous_commit=on, fsync=on, no standby)"
        case .postgresStandby: "PostgreSQL 15 on loopback with a synchronous streaming standby (remote_flush)"
        }
    }
}

/// `count` `warden serve` processes on one database, sharing one state folder's keys: the
/// first initialises it, the others start from a copy of it.
final class BenchAppliances {
    let database: BenchDatabase
    let servers: [BenchServer]
    private let clusters: [PostgresCluster]

    init(database: BenchDatabase, count: Int) throws {
        self.database = database
        var environment: [String: String] = [:]
        var clusters: [PostgresCluster] = []
        if database != .sqlite {
            let primary = try PostgresCluster()
            clusters.append(primary)
            if database == .postgresStandby {
                clusters.append(try primary.standby())
                _ = try primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby'", database: "postgres")
                _ = try primary.psql("SELECT pg_reload_conf()", database: "postgres")
            }
            let name = try primary.createDatabase()
            // warden serve refuses a password file everyone may read.
            let passwordFile = primary.folder.appendingPathComponent("warden-password")
            try Data(primary.password.utf8).write(to: passwordFile)
            chmod(passwordFile.path, 0o600)
            environment = [
                "WARDEN_DATABASE": primary.uri(database: name), "WARDEN_DATABASE_PASSWORD_FILE": passwordFile.path,
            ]
        } else if count > 1 {
            throw BenchError("several appliances need a shared database: --database postgres")
        }
        self.clusters = clusters
        var servers = [try BenchServer(environment: environment)]
        while servers.count < count {
            servers.append(
                try BenchServer(environment: environment, name: "bench-\(servers.count + 1)", joining: servers[0]))
        }
        self.servers = servers
    }

    /// The first appliance: where the machines are enrolled and the CA is read.
    var first: BenchServer { servers[0] }

    /// CPU seconds each appliance has used so far.
    var cpuSeconds: [Double] { servers.map(\.cpuSeconds) }

    func stop() {
        for server in servers { server.stop() }
        for cluster in clusters.reversed() { cluster.stop() }
    }
}
