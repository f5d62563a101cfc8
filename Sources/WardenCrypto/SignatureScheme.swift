/// How a signature is made: padding or algorithm, and the digest signed.
public enum SignatureScheme: Sendable, Hashable, CustomStringConvertible {
    /// RSASSA-PKCS1-v1_5 (TPM_ALG_RSASSA).
    case rsaPKCS1v15(DigestAlgorithm)
    /// RSASSA-PSS (TPM_ALG_RSAPSS); any salt length verifies.
    case rsaPSS(DigestAlgorithm)
    /// ECDSA with a DER-encoded signature (TPM_ALG_ECDSA after r and s are joined).
    case ecdsa(DigestAlgorithm)

    /// The digest algorithm the signature covers.
    public var digest: DigestAlgorithm {
        switch self {
        case .rsaPKCS1v15(let d), .rsaPSS(let d), .ecdsa(let d): d
        }
    }

    /// Whether a key of `kind` can make or check this kind of signature.
    public func fits(_ kind: KeyKind) -> Bool {
        switch (self, kind) {
        case (.rsaPKCS1v15, .rsa), (.rsaPSS, .rsa), (.ecdsa, .ec): true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .rsaPKCS1v15(let d): "RSASSA-PKCS1-v1_5/\(d.rawValue)"
        case .rsaPSS(let d): "RSA-PSS/\(d.rawValue)"
        case .ecdsa(let d): "ECDSA/\(d.rawValue)"
        }
    }
}
