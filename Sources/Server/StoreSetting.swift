import Foundation
import Store
import WardenCrypto

extension WardenConfiguration {
    /// The settings as `warden serve` in this folder loads them: `file` (`--config`), else
    /// Config/warden.yaml when it exists, then `WARDEN_*` variables, then `stateDir`
    /// (`--state-dir`) when given (for the server and the tools on the appliance beside it).
    public static func fromEnvironment(file: String? = nil, stateDir: String? = nil) throws(ConfigurationError)
        -> WardenConfiguration
    {
        let file = file ?? (FileManager.default.fileExists(atPath: defaultFile) ? defaultFile : nil)
        var configuration = try load(file: file, environment: ProcessInfo.processInfo.environment)
        if let stateDir { configuration.stateDir = stateDir }
        return configuration
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
        return .postgres(
            postgres, password: try Self.secret(in: databasePasswordFile, naming: "databasePasswordFile"))
    }

    /// The secret in `path` (a password, a passphrase): its first line. The file must not be
    /// readable by everyone; `setting` names it in an error.
    public static func secret(in path: String, naming setting: String) throws(ConfigurationError) -> Secret {
        var status = stat()
        guard stat(path, &status) == 0, let contents = FileManager.default.contents(atPath: path) else {
            throw .invalid(setting, "cannot read \(path)")
        }
        guard status.st_mode & 0o007 == 0 else {
            throw .invalid(setting, "\(path) is readable by every user: chmod o-rwx \(path)")
        }
        let line = contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
        let secret = Array(line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
        guard !secret.isEmpty else { throw .invalid(setting, "\(path) holds nothing on its first line") }
        return Secret(bytes: secret)
    }
}
