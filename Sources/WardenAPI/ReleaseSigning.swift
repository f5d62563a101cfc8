/// The purpose the release key's certificate is issued for: id-kp-documentSigning
/// (RFC 9336). Warden's server CA issues it; agents accept a release signer only with it.
public enum ReleaseSigning {
    public static let extendedKeyUsage: [UInt] = [1, 3, 6, 1, 5, 5, 7, 3, 36]
}
