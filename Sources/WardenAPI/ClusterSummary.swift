#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A K3s cluster as operators see it: never its tokens.
public struct ClusterSummary: Sendable, Codable, Equatable {
    public let name: String
    /// The K3s server machines join.
    public let k3sServer: String
    public let hasAgentToken: Bool
    public let machines: Int
    public let createdAt: Date

    /// A value as the server sends it.
    public init(name: String, k3sServer: String, hasAgentToken: Bool, machines: Int, createdAt: Date) {
        self.name = name
        self.k3sServer = k3sServer
        self.hasAgentToken = hasAgentToken
        self.machines = machines
        self.createdAt = createdAt
    }
}
