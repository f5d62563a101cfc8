#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A K3s cluster as operators see it: never its tokens.
public struct ClusterSummary: Sendable, Codable, Equatable {
    public let name: String
    public let serverURL: String
    public let hasAgentToken: Bool
    public let machines: Int
    public let createdAt: Date

    /// A value as the server sends it.
    public init(name: String, serverURL: String, hasAgentToken: Bool, machines: Int, createdAt: Date) {
        self.name = name
        self.serverURL = serverURL
        self.hasAgentToken = hasAgentToken
        self.machines = machines
        self.createdAt = createdAt
    }
}
