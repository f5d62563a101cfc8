import COpenSSL

/// A private key held in memory that signs digests: used for Warden's own keys and to
/// build software TPM identities for tests and benchmarks.
public struct SigningKey: Sendable {
    private let handle: KeyHandle

    /// A new RSA key of `bits` bits.
    public static func rsa(bits: Int) throws(OpenSSLError) -> SigningKey {
        guard let key = warden_generate_rsa(UInt32(bits)) else { throw OpenSSLError("generate an RSA-\(bits) key") }
        return SigningKey(handle: KeyHandle(key))
    }

    /// A new EC key on `curve`.
    public static func ec(_ curve: EllipticCurve) throws(OpenSSLError) -> SigningKey {
        guard let key = warden_generate_ec(curve.rawValue) else { throw OpenSSLError("generate an EC \(curve.rawValue) key") }
        return SigningKey(handle: KeyHandle(key))
    }

    private init(handle: KeyHandle) { self.handle = handle }

    /// The matching public key.
    public var publicKey: PublicKey {
        get throws(OpenSSLError) { try PublicKey(der: handle.publicKeyDER) }
    }

    /// Signs an already computed `digest`. ECDSA signatures come back DER-encoded.
    public func sign(digest: [UInt8], scheme: SignatureScheme) throws(OpenSSLError) -> [UInt8] {
        guard scheme.fits(handle.kind) else { throw OpenSSLError("sign: \(scheme) does not fit a \(handle.kind) key") }
        let signature: [UInt8]? = handle.withOperation(scheme, initialise: { EVP_PKEY_sign_init($0) }) { context in
            var length = 0
            guard EVP_PKEY_sign(context, nil, &length, digest, digest.count) == 1 else { return nil }
            var out = [UInt8](repeating: 0, count: length)
            guard EVP_PKEY_sign(context, &out, &length, digest, digest.count) == 1 else { return nil }
            return Array(out.prefix(length))
        }
        guard let signature else { throw OpenSSLError("sign with \(scheme)") }
        return signature
    }
}
