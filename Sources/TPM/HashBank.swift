import TSS
import WardenCrypto

extension TPMAlgorithmID {
    /// The libcrypto hash for a TPM hash algorithm, if Warden supports it.
    public var digestAlgorithm: DigestAlgorithm? {
        switch self {
        case .sha1: .sha1
        case .sha256: .sha256
        case .sha384: .sha384
        case .sha512: .sha512
        default: nil
        }
    }

    /// The TPM hash algorithm for a bank name (`sha1`, `sha256`, `sha384`, `sha512`).
    public init?(bankName: String) {
        switch bankName {
        case "sha1": self = .sha1
        case "sha256": self = .sha256
        case "sha384": self = .sha384
        case "sha512": self = .sha512
        default: return nil
        }
    }
}

extension DigestAlgorithm {
    /// The TPM algorithm ID of this hash.
    public var tpmAlgorithm: TPMAlgorithmID {
        switch self {
        case .sha1: .sha1
        case .sha256: .sha256
        case .sha384: .sha384
        case .sha512: .sha512
        }
    }
}
