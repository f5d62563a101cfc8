/// Why the agent stopped; printed as one line, never with a secret.
public enum AgentError: Error, Sendable, CustomStringConvertible {
    /// The server refused, with its reason.
    case refused(String)
    /// The server cannot serve now (`503`, `429`), with its reason: another appliance may.
    case unavailable(String)
    /// The TPM failed an operation.
    case tpm(String)
    /// The release did not check out: wrong signer, wrong signature, or unreadable.
    case badRelease(String)
    /// Writing the outputs or unlocking the disk failed.
    case output(String)

    public var description: String {
        switch self {
        case .refused(let why): "refused by the server: \(why)"
        case .unavailable(let why): "the server cannot serve now: \(why)"
        case .tpm(let why): "TPM: \(why)"
        case .badRelease(let why): "release rejected: \(why)"
        case .output(let why): why
        }
    }
}
