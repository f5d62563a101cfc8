import WardenAPI

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
    /// An operator approved evidence it was refused on, as its policy's next version.
    case approve
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
        case .approve: "approved"
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
        case (.enrolled?, .approve): .enrolled
        case (.active?, .approve): .active
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
