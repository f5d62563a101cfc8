import Foundation
import Store
import WardenCrypto

extension WardenConfiguration {
    /// The settings as `warden serve` in this folder would load them: Config/warden.yaml
    /// when it exists, then `WARDEN_*` variables (for tools on the appliance beside it).
    public static func fromEnvironment() throws(ConfigurationError) -> WardenConfiguration {
        let file = FileManager.default.fileExists(atPath: defaultFile) ? defaultFile : nil
        return try load(file: file, environment: ProcessInfo.processInfo.environment)
    }

    /// The configuration file `warden serve` reads when given none.
    public static let defaultFile = "Config/warden.yaml"

    /// The PostgreSQL database `database` names; nil when the store is SQLite.
    public func postgresLocation() throws(ConfigurationError) -> PostgresLocation? {
        guard !database.isEmpty else { return nil }
        do { return try PostgresLocation(uri: database) } catch { throw .invalid("database", error.description) }
    }

    /// Where the store lives: the PostgreSQL database `database` names, signed in to with the
    /// password in `databasePasswordFile`, or else the SQLite file in `state`.
    public func storeLocation(in state: StateFolder) throws(ConfigurationError) -> StoreLocation {
        guard let postgres = try postgresLocation() else { return .sqlite(path: state.databasePath) }
        guard !databasePasswordFile.isEmpty else { return .postgres(postgres, password: nil) }
        return .postgres(postgres, password: try Self.password(in: databasePasswordFile))
    }

    /// The password in `path`: its first line. The file must not be readable by everyone.
    private static func password(in path: String) throws(ConfigurationError) -> Secret {
        var status = stat()
        guard stat(path, &status) == 0, let contents = FileManager.default.contents(atPath: path) else {
            throw .invalid("databasePasswordFile", "cannot read \(path)")
        }
        guard status.st_mode & 0o007 == 0 else {
            throw .invalid("databasePasswordFile", "\(path) is readable by every user: chmod o-rwx \(path)")
        }
        let line = contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
        let password = Array(line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
        guard !password.isEmpty else { throw .invalid("databasePasswordFile", "\(path) holds no password") }
        return Secret(bytes: password)
    }
}
