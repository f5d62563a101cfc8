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
        guard let key = warden_generate_ec(curve.rawValue) else {
            throw OpenSSLError("generate an EC \(curve.rawValue) key")
        }
        return SigningKey(handle: KeyHandle(key))
    }

    private init(handle: KeyHandle) { self.handle = handle }

    /// A key from an unencrypted PEM private key (PKCS#8 or traditional).
    public init(pem: [UInt8]) throws(OpenSSLError) {
        handle = try KeyHandle(pem: pem, what: "private key") { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
    }

    /// The key as unencrypted PKCS#8 PEM, for a 0600 file. Never log it.
    public var pem: [UInt8] {
        get throws(OpenSSLError) {
            guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError("allocate a buffer") }
            defer { BIO_free(bio) }
            guard PEM_write_bio_PrivateKey(bio, handle.pointer, nil, nil, 0, nil, nil) == 1 else {
                throw OpenSSLError("write a PEM private key")
            }
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while case let read = BIO_read(bio, &chunk, Int32(chunk.count)), read > 0 { out += chunk.prefix(Int(read)) }
            return out
        }
    }

    /// The matching public key.
    public var publicKey: PublicKey {
        get throws(OpenSSLError) { try PublicKey(der: handle.publicKeyDER) }
    }

    /// RSA-OAEP decryption (what a TPM does with a credential seed sent to its EK).
    public func decryptOAEP(_ ciphertext: [UInt8], digest: DigestAlgorithm, label: [UInt8]) throws(OpenSSLError)
        -> [UInt8]
    {
        try OAEP.run(.decrypt, ciphertext, key: handle, digest: digest, label: label)
    }

    /// Signs an already computed `digest`. ECDSA signatures come back DER-encoded.
    public func sign(digest: [UInt8], scheme: SignatureScheme) throws(OpenSSLError) -> [UInt8] {
        guard scheme.fits(handle.kind) else { throw OpenSSLError("sign: \(scheme) does not fit a \(handle.kind) key") }
        let signature: [UInt8]? = handle.withContext(for: .sign(scheme)) { context in
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
