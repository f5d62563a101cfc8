#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The two roles an admin client certificate can carry.
public enum OperatorRole: String, Codable, Sendable, CaseIterable {
    /// Everything: enrol, approve, revoke, policies, clusters, operators.
    case `operator`
    /// Read and export only.
    case auditor
}

/// An issued client certificate, by serial number (hex).
public struct OperatorCertificate: Sendable, Codable, Equatable {
    public let serial: String
    public let name: String
    public let role: OperatorRole
    public let issuedAt: Date
    public let revokedAt: Date?

    /// A value as the server sends it.
    public init(serial: String, name: String, role: OperatorRole, issuedAt: Date, revokedAt: Date?) {
        self.serial = serial
        self.name = name
        self.role = role
        self.issuedAt = issuedAt
        self.revokedAt = revokedAt
    }
}
