import ArgumentParser
import Foundation
import Server
import Store

/// `warden store …`: the appliance's database itself.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Move the appliance's database.", subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy this appliance's SQLite database, whole, into an empty PostgreSQL database.",
            discussion: """
                Run it on the appliance with `warden serve` stopped, then start `warden serve` with WARDEN_DATABASE set \
                to the same URI. Secrets stay sealed under the state folder's key-encryption key; the audit chain is \
                copied record by record and verifies as before. A target that holds any row is refused.
                """)

        @Option(help: "The state folder whose warden.sqlite is copied (default: WARDEN_STATE_DIR, else .warden).")
        var stateDir = ProcessInfo.processInfo.environment["WARDEN_STATE_DIR"] ?? ".warden"

        @Option(help: "The PostgreSQL database, as a libpq URI (postgresql://USER@HOST/DATABASE?sslmode=…).")
        var to: String

        @Option(help: "The file holding the database password (default: WARDEN_DATABASE_PASSWORD_FILE).")
        var passwordFile = ProcessInfo.processInfo.environment["WARDEN_DATABASE_PASSWORD_FILE"] ?? ""

        func run() async throws {
            let state = try StateFolder.existing(at: stateDir)
            var settings = WardenConfiguration()
            settings.database = to
            settings.databasePasswordFile = passwordFile
            let key = try state.keyEncryptionKey()
            let source = try EnrolmentStore(path: state.databasePath, key: key)
            let target = try EnrolmentStore(location: settings.storeLocation(in: state), key: key)
            let copied = try source.copy(into: target)
            for (table, rows) in copied { print("\(table): \(rows) row(s)") }
            print("copied \(state.databasePath) into \(try settings.storeLocation(in: state))")
        }
    }
}
