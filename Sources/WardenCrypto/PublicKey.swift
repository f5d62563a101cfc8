import COpenSSL

/// A public key that checks signatures: RSA or NIST P-256/P-384.
public struct PublicKey: Sendable {
    let handle: KeyHandle

    /// The key's algorithm and size.
    public var kind: KeyKind { handle.kind }

    init(handle: KeyHandle) { self.handle = handle }

    /// An RSA key from its big-endian modulus and public exponent.
    public init(rsaModulus modulus: [UInt8], exponent: [UInt8]) throws(OpenSSLError) {
        guard !modulus.isEmpty, !exponent.isEmpty,
            let key = warden_rsa_public_key(modulus, modulus.count, exponent, exponent.count)
        else { throw OpenSSLError("build an RSA public key") }
        handle = KeyHandle(key)
    }

    /// An EC key from its affine coordinates; refused unless the point lies on `curve`.
    public init(curve: EllipticCurve, x: [UInt8], y: [UInt8]) throws(OpenSSLError) {
        let width = curve.coordinateSize
        guard x.count <= width, y.count <= width else {
            throw OpenSSLError("build an EC public key: coordinate too long")
        }
        let point =
            [0x04] + [UInt8](repeating: 0, count: width - x.count) + x
            + [UInt8](repeating: 0, count: width - y.count) + y
        guard let key = warden_ec_public_key(curve.rawValue, point, point.count) else {
            throw OpenSSLError("build an EC public key on \(curve.rawValue)")
        }
        handle = KeyHandle(key)
    }

    /// A key from a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo).
    public init(pem: [UInt8]) throws(OpenSSLError) {
        handle = try KeyHandle(pem: pem, what: "public key") { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
    }

    /// A key from DER SubjectPublicKeyInfo.
    public init(der: [UInt8]) throws(OpenSSLError) {
        let key: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let key else { throw OpenSSLError("read a DER public key") }
        handle = KeyHandle(key)
    }

    /// The subject public key of an X.509 certificate, DER or PEM. The certificate itself is
    /// not checked here.
    public init(certificate: [UInt8]) throws(OpenSSLError) {
        let pem = certificate.starts(with: Array("-----BEGIN".utf8))
        guard let key = warden_certificate_public_key(certificate, certificate.count, pem ? 1 : 0) else {
            throw OpenSSLError("read a certificate's public key")
        }
        handle = KeyHandle(key)
    }

    /// DER SubjectPublicKeyInfo.
    public var der: [UInt8] { handle.publicKeyDER }

    /// RSA-OAEP encryption of `plaintext` with `digest` for both OAEP and MGF1, and `label`
    /// (TPM 2.0 labels include their terminating NUL byte).
    public func encryptOAEP(_ plaintext: [UInt8], digest: DigestAlgorithm, label: [UInt8]) throws(OpenSSLError)
        -> [UInt8]
    {
        try OAEP.run(.encrypt, plaintext, key: handle, digest: digest, label: label)
    }

    /// The RSA modulus and exponent, big-endian; nil for other keys.
    public var rsaComponents: (modulus: [UInt8], exponent: [UInt8])? {
        guard case .rsa = kind else { return nil }
        func read(_ name: UnsafePointer<CChar>) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 1024)
            let length = warden_pkey_bn_param(handle.pointer, name, &out, Int32(out.count))
            return length > 0 ? Array(out.prefix(Int(length))) : []
        }
        return (read(warden_param_rsa_n()), read(warden_param_rsa_e()))
    }

    /// The EC point's coordinates, big-endian and padded to the curve size; nil for other keys.
    public var ecCoordinates: (x: [UInt8], y: [UInt8])? {
        guard case .ec(let curve) = kind else { return nil }
        var point = [UInt8](repeating: 0, count: 1 + 2 * curve.coordinateSize)
        guard warden_ec_public_point(handle.pointer, &point, point.count) == point.count, point[0] == 0x04 else {
            return nil
        }
        return (Array(point[1...curve.coordinateSize]), Array(point[(1 + curve.coordinateSize)...]))
    }

    /// Whether `signature` is a valid signature under `scheme` of the already computed
    /// `digest`. ECDSA signatures are DER-encoded (see ``ECDSASignature``).
    public func isValidSignature(_ signature: [UInt8], digest: [UInt8], scheme: SignatureScheme) -> Bool {
        guard scheme.fits(kind), digest.count == scheme.digest.digestSize else { return false }
        // A signature that does not verify (0) leaves its context as it was, and it is kept,
        // so that a flood of forged quotes costs no more than good ones; an error (below 0,
        // a malformed signature say) gives nil, and its context is not kept.
        let valid: Bool? = handle.withContext(for: .verify(scheme)) { context in
            let result = EVP_PKEY_verify(context, signature, signature.count, digest, digest.count)
            return result < 0 ? nil : result == 1
        }
        _ = OpenSSLError.drainQueue()  // a failed check leaves entries that would confuse later errors
        return valid ?? false
    }
}
