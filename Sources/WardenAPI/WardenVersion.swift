/// Warden's release: the same in `warden`, `warden-agent` and the server's `GET /v1/version`.
public enum WardenVersion {
    public static let release = "0.2.0"
    /// The HTTP API's version, the prefix of every path.
    public static let api = "v1"
}

/// What `GET /v1/version` answers: the server's release and what it runs on.
public struct ServerVersion: Codable, Sendable, Equatable {
    public var release: String
    public var api: String
    /// The appliance that answered (nil: a store whose records name none).
    public var appliance: String?
    /// `sqlite` or `postgresql`.
    public var database: String
    /// The newest schema migration applied.
    public var schema: String?

    public init(release: String, api: String, appliance: String?, database: String, schema: String?) {
        self.release = release
        self.api = api
        self.appliance = appliance
        self.database = database
        self.schema = schema
    }
}
