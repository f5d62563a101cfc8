/// One version of a named policy, as stored.
public struct PolicyVersion: Sendable, Equatable, Codable {
    public let id: Int64
    public let name: String
    public let version: Int
    public let yaml: String

    /// A value as the server sends it.
    public init(id: Int64, name: String, version: Int, yaml: String) {
        self.id = id
        self.name = name
        self.version = version
        self.yaml = yaml
    }
}
