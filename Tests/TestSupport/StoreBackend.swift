import Foundation
import LocalPostgres
import Store
import Testing
import WardenCrypto

/// The database backends every store test runs on: the embedded SQLite file, and a real
/// PostgreSQL server the tests start themselves (``PostgresCluster``), each test on a new database.
public enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    public var testDescription: String { rawValue }

    /// Where a new, empty store lives on this backend; `folder` holds a SQLite file.
    public func freshLocation(in folder: URL) throws -> StoreLocation {
        switch self {
        case .sqlite:
            return .sqlite(path: folder.appendingPathComponent("warden.sqlite").path)
        case .postgres:
            let server = try PostgresCluster.forThisSuite()
            return .postgres(
                try PostgresLocation(uri: server.uri(database: try server.createDatabase())),
                password: Secret(text: server.password))
        }
    }

    /// A new, empty store with its own key-encryption key; the store, its location and a folder of its own.
    public func freshStore(
        limits: EnrolmentStore.Limits = .init(), auditSigner: AuditSigner? = nil
    ) throws -> (store: EnrolmentStore, location: StoreLocation, folder: URL) {
        let folder = try TestPaths.temporaryDirectory("store")
        let key = try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path)
        let location = try freshLocation(in: folder)
        return (
            try EnrolmentStore(location: location, key: key, auditSigner: auditSigner, limits: limits), location, folder
        )
    }

    /// Every file the rows of a store at `location` may have reached: the SQLite file with
    /// its journal, or the PostgreSQL database's own files and the cluster's write-ahead
    /// log (which carries every row written), after a checkpoint.
    public func filesHolding(_ location: StoreLocation, folder: URL) throws -> [URL] {
        switch location {
        case .sqlite:
            return try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasPrefix("warden.sqlite") }.map { folder.appendingPathComponent($0) }
        case .postgres(let postgres, _):
            let server = try PostgresCluster.forThisSuite()
            _ = try server.psql("CHECKPOINT", database: "postgres")
            let oid = try server.psql(
                "SELECT oid FROM pg_database WHERE datname = '\(postgres.database)'", database: "postgres"
            ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let data = server.folder.appendingPathComponent("data")
            return try ["pg_wal", "base/\(oid)"].flatMap { sub in
                let url = data.appendingPathComponent(sub)
                return try FileManager.default.contentsOfDirectory(atPath: url.path).map {
                    url.appendingPathComponent($0)
                }
                .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            }
        }
    }
}
