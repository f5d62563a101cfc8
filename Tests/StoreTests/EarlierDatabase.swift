import Foundation
import GRDB
@testable import Store
import TestSupport
import WardenCrypto

/// A SQLite database as an earlier Warden left it, in a folder of its own: migrated up to a
/// named migration and filled, then closed, for a test to open with today's store.
struct EarlierDatabase {
    let path: String
    private let folder: URL

    /// The database in a new folder named after `label`, migrated up to `migration`, with
    /// what `fill` wrote in one transaction.
    init(_ label: String, upTo migration: String, filled fill: (Database) throws -> Void) throws {
        folder = try TestPaths.temporaryDirectory(label)
        path = folder.appendingPathComponent("warden.sqlite").path
        let old = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(old, upTo: migration)
        try old.write(fill)
        try old.close()
    }

    /// The store today's Warden makes of it, which applies every later migration.
    func openedByToday() throws -> EnrolmentStore {
        try EnrolmentStore(
            path: path, key: try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path))
    }
}
