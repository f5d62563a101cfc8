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

/// What happens to a machine: the edges of its lifecycle.
public enum MachineEvent: String, Sendable, CaseIterable {
    /// It registered itself or network-booted unknown.
    case discover
    /// An operator enrolled it by its EK.
    case enrol
    /// An operator adopted it from the discovered machines.
    case adopt
    /// It passed attestation and received its release.
    case release
    case revoke
    case retire
    case forget
    case expire

    /// How the event reads after "cannot be" in an error: "adopted", "released to".
    public var passive: String {
        switch self {
        case .discover: "discovered"
        case .enrol: "enrolled"
        case .adopt: "adopted"
        case .release: "released to"
        case .revoke: "revoked"
        case .retire: "retired"
        case .forget: "forgotten"
        case .expire: "expired"
        }
    }
}

/// The one table of transitions: every change of `machine.state` goes through it.
public enum MachineLifecycle {
    /// The state `event` takes a machine from `state` to (`nil`: it has no row yet), or nil
    /// when the lifecycle forbids the event there.
    public static func state(after event: MachineEvent, from state: MachineState?) -> MachineState? {
        switch (state, event) {
        case (nil, .discover): .discovered
        case (nil, .enrol), (.discovered?, .adopt): .enrolled
        case (.enrolled?, .release), (.active?, .release): .active
        case (.discovered?, .revoke), (.enrolled?, .revoke), (.active?, .revoke): .revoked
        case (.enrolled?, .retire), (.active?, .retire), (.revoked?, .retire): .retired
        case (.discovered?, .forget): .forgotten
        case (.discovered?, .expire): .expired
        default: nil
        }
    }

    /// The schema's constraint on `machine.state`, written from ``MachineState/stored``.
    public static var storedStatesSQL: String {
        "state IN (" + MachineState.stored.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    }
}
