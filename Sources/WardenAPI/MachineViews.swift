#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a machine stands in its life at Warden. The stored states are the ones the
/// database's `machine.state` constraint allows (``stored``); `forgotten` and `expired`
/// end a discovered machine's life by removing its row, so they are never stored.
public enum MachineState: String, Sendable, Codable, CaseIterable {
    /// Seen network-booting or registered by its own agent; enrolled by nobody, no secrets.
    case discovered
    /// Enrolled (or adopted) by an operator; it has not yet received a release.
    case enrolled
    /// It attested and received its release at least once.
    case active
    /// Revoked by an operator: refused from then on, never released to again.
    case revoked
    /// Taken out of service by an operator; its row and records stay for the audit trail.
    case retired
    /// A discovered machine an operator forgot: its row is gone.
    case forgotten
    /// A discovered machine nobody adopted within its lifetime: its row is gone.
    case expired

    /// The states a machine row can hold, in the order the schema lists them.
    public static let stored: [MachineState] = allCases.filter(\.isStored)

    /// Whether a machine in this state has a row.
    public var isStored: Bool { self != .forgotten && self != .expired }

    /// Whether a machine in this state is refused everything: nonces, boots, releases.
    public var isOutOfService: Bool { self == .revoked || self == .retired }
}

/// A machine's role in its K3s cluster.
public enum MachineRole: String, Codable, Sendable, CaseIterable {
    case server
    case agent
}

/// A machine as operators see it: never its secrets.
public struct MachineSummary: Sendable, Codable, Equatable {
    public let id: Int64
    public let name: String
    public let state: MachineState
    /// Hex of the EK's TPM name.
    public let ekName: String
    public let hasEKCertificate: Bool
    public let macs: [String]
    public let smbiosUUID: String?
    public let cluster: String?
    public let role: MachineRole?
    public let policy: String?
    public let labels: [String]
    /// The catalogue image it network-boots.
    public let image: String?
    public let createdAt: Date
    /// When Warden enrolled the rack's Secure Boot keys in its firmware, if it did.
    public let secureBootEnrolledAt: Date?

    /// A value as the server sends it.
    public init(
        id: Int64, name: String, state: MachineState, ekName: String, hasEKCertificate: Bool, macs: [String],
        smbiosUUID: String?, cluster: String?, role: MachineRole?, policy: String?, labels: [String], image: String?,
        createdAt: Date, secureBootEnrolledAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.state = state
        self.ekName = ekName
        self.hasEKCertificate = hasEKCertificate
        self.macs = macs
        self.smbiosUUID = smbiosUUID
        self.cluster = cluster
        self.role = role
        self.policy = policy
        self.labels = labels
        self.image = image
        self.createdAt = createdAt
        self.secureBootEnrolledAt = secureBootEnrolledAt
    }
}

/// One attestation as operators list it.
public struct AttestationSummary: Sendable, Codable, Equatable {
    public let id: Int64
    /// The machine's name.
    public let machine: String
    public let passed: Bool
    public let reasons: [String]
    /// "name@version" of the policy it was judged by, when it got that far.
    public let policy: String?
    /// Why the boot measured no kernel (legacy BIOS), when that is so: such an attestation
    /// passes only under a policy that allows unmeasured boots.
    public let unmeasured: String?
    public let createdAt: Date

    /// A value as the server sends it.
    public init(
        id: Int64, machine: String, passed: Bool, reasons: [String], policy: String?, unmeasured: String?,
        createdAt: Date
    ) {
        self.id = id
        self.machine = machine
        self.passed = passed
        self.reasons = reasons
        self.policy = policy
        self.unmeasured = unmeasured
        self.createdAt = createdAt
    }
}

/// One attestation with the event log its agent sent: `GET /v1/admin/attestations/ID`.
public struct AttestationDetail: Sendable, Codable {
    public let attestation: AttestationSummary
    /// The firmware's event log as the agent sent it (base64), when it sent one.
    public let eventLog: String?

    public init(attestation: AttestationSummary, eventLog: String?) {
        self.attestation = attestation
        self.eventLog = eventLog
    }
}

/// A machine with its recent attestations and the policy it is held to.
public struct MachineDetail: Sendable, Codable {
    public let machine: MachineSummary
    public let attestations: [AttestationSummary]
    public let policy: PolicyVersion?

    public init(machine: MachineSummary, attestations: [AttestationSummary], policy: PolicyVersion?) {
        self.machine = machine
        self.attestations = attestations
        self.policy = policy
    }
}
