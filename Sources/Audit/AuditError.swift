/// Why an export or a verification could not be carried out at all (a bundle that does
/// not hold up is not an error: its report names every failure).
public enum AuditError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The audit key is missing or unreadable.
    case key(String)
    /// The export asks for something that is not there (no records in the range, an unknown machine).
    case request(String)
    /// The bundle is not one Warden wrote (not a tar.gz, an entry too large, a path out of place).
    case bundle(String)
    /// Reading the store or writing the file failed.
    case io(String)

    public var description: String {
        switch self {
        case .key(let why): "audit key: \(why)"
        case .request(let why): "export: \(why)"
        case .bundle(let why): "bundle: \(why)"
        case .io(let why): why
        }
    }
}
