import Attestation
import WardenAPI

/// What went wrong in the store; never carries a secret.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key-encryption key file is missing, unreadable or too open.
    case keyFile(String, String)
    /// A sealed value does not open for its record (wrong key, moved or altered).
    case sealing(String)
    /// This appliance's key-encryption key (its identifier) is not the one the database's
    /// secrets are sealed under now: another appliance rotated it.
    case keyNotCurrent(String)
    /// A name is already taken.
    case duplicate(String)
    /// No such record.
    case notFound(String)
    /// A nonce is unknown, used, expired or issued to another machine.
    case nonce(String)
    /// A bound on unauthenticated growth was reached (discovered machines).
    case limit(String)
    /// A request names something that cannot be (a role without a cluster, say).
    case invalid(String)
    /// The database refused an operation.
    case database(String)
    /// What a decision rested on changed before it was recorded (another appliance, or
    /// another request, changed the machine meanwhile): nothing was written; decide again.
    case stale(String)
    /// The database cannot be reached or cannot take writes now (a fail-over, say); the
    /// request may be tried again shortly.
    case unavailable(String)
    /// The database at `path` has schema `migrations` this Warden does not know: a newer one wrote it.
    case newerSchema(path: String, migrations: [String])
    /// The machine lifecycle forbids `event` for a machine in `state`.
    case lifecycle(machine: String, state: MachineState, event: MachineEvent)

    /// `error` as the store reports it: itself when it is one, else the database's refusal.
    init(_ error: any Error) {
        self = error as? StoreError ?? .database("\(error)")
    }

    public var description: String {
        switch self {
        case .keyFile(let path, let why): "key-encryption key \(path): \(why)"
        case .sealing(let identity): "the sealed secret of \(identity) does not open"
        case .keyNotCurrent(let identifier):
            "this appliance's key-encryption key \(identifier) is not the one the database's secrets are sealed under "
                + "now (rotated on another appliance): take the new one with `warden keys import`"
        case .duplicate(let what): "\(what) already exists"
        case .notFound(let what): "\(what) not found"
        case .nonce(let why): "nonce refused: \(why)"
        case .limit(let why): "limit reached: \(why)"
        case .invalid(let why): why
        case .database(let why): "database: \(why)"
        case .stale(let why): "\(why); nothing was recorded, try again"
        case .unavailable(let why): "database unavailable: \(why)"
        case .newerSchema(let path, let migrations):
            "database \(path) was migrated by a newer Warden (\(migrations.joined(separator: ", "))): "
                + "run that version, or restore a backup taken before it"
        case .lifecycle(let machine, let state, let event):
            "machine \(machine) is \(state.rawValue): a machine that is \(state.rawValue) cannot be \(event.passive)"
        }
    }
}
