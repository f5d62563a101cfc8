import Store
import WardenAPI

extension AdminService {
    /// This server's release, appliance, database and schema, for any authenticated caller.
    func version(by caller: AdminIdentity) throws(AdminError) -> ServerVersion {
        let migrations = try stored { try store.appliedMigrations() }
        return ServerVersion(
            release: WardenVersion.release, api: WardenVersion.api, appliance: store.appliance,
            database: store.isShared ? "postgresql" : "sqlite", schema: migrations.last)
    }
}
