import WardenCrypto

/// Where a store keeps its rows: one SQLite file (the embedded default), or a PostgreSQL
/// database that several appliances share.
public enum StoreLocation: Sendable, CustomStringConvertible {
    case sqlite(path: String)
    /// The database `location` names, signed in to with `password` (or, without one, a
    /// client certificate or the server's trust).
    case postgres(PostgresLocation, password: Secret?)

    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let location, _):
            "postgresql://\(location.user)@" + location.hosts.map(\.description).joined(separator: ",") + "/"
                + location.database
        }
    }
}
