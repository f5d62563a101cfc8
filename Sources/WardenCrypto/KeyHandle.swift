import COpenSSL

/// Owns one EVP_PKEY. libcrypto allows concurrent use of a key that is no longer modified,
/// and Warden never modifies a key after creating it.
final class KeyHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    /// What kind of key this is, read from libcrypto once: every signature checked and every
    /// OAEP run asks.
    let kind: KeyKind

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
        kind = Self.kind(of: pointer)
    }

    /// A key read from PEM `bytes` by `reader` (PEM_read_bio_PUBKEY, _PrivateKey) through a
    /// memory BIO.
    convenience init(pem bytes: [UInt8], what: String, reader: (OpaquePointer) -> OpaquePointer?) throws(OpenSSLError) {
        let key: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return reader(bio)
        }
        guard let key else { throw OpenSSLError("read a PEM \(what)") }
        self.init(key)
    }

    deinit { EVP_PKEY_free(pointer) }

    private static func kind(of pointer: OpaquePointer) -> KeyKind {
        if EVP_PKEY_is_a(pointer, "RSA") == 1 {
            return .rsa(bits: Int(EVP_PKEY_get_bits(pointer)))
        }
        if EVP_PKEY_is_a(pointer, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            if EVP_PKEY_get_group_name(pointer, &name, name.count, &length) == 1 {
                let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if let curve = EllipticCurve(openSSLGroupName: group) { return .ec(curve) }
                return .unsupported("EC group \(group)")
            }
        }
        guard let name = EVP_PKEY_get0_type_name(pointer) else { return .unsupported("unknown key type") }
        return .unsupported(String(cString: name))
    }

    /// Runs one sign or verify operation with the scheme's padding and digest set on a fresh context.
    func withOperation<T>(
        _ scheme: SignatureScheme,
        initialise: (OpaquePointer) -> Int32,
        _ body: (OpaquePointer) -> T?
    ) -> T? {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(context) }
        guard initialise(context) == 1,
            EVP_PKEY_CTX_set_signature_md(context, scheme.digest.method) == 1
        else { return nil }
        switch scheme {
        case .rsaPKCS1v15:
            guard EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1 else { return nil }
        case .rsaPSS:
            // "auto": verification accepts any salt length (TPMs differ), signing uses the maximum.
            guard EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING) == 1,
                warden_set_rsa_pss_saltlen_auto(context) == 1
            else { return nil }
        case .ecdsa:
            break
        }
        return body(context)
    }

    /// DER SubjectPublicKeyInfo of the key.
    var publicKeyDER: [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(pointer, &buffer)
        guard length > 0, let buffer else { fatalError("i2d_PUBKEY failed: \(OpenSSLError("encode a public key"))") }
        defer { warden_openssl_free(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(length)))
    }
}

/// The kind and size of a public key.
public enum KeyKind: Sendable, Equatable, CustomStringConvertible {
    case rsa(bits: Int)
    case ec(EllipticCurve)
    case unsupported(String)

    public var description: String {
        switch self {
        case .rsa(let bits): "RSA-\(bits)"
        case .ec(let curve): "ECC \(curve.rawValue)"
        case .unsupported(let what): what
        }
    }
}

/// The NIST curves Warden accepts for attestation keys.
public enum EllipticCurve: String, Sendable, Equatable, CaseIterable {
    case p256 = "P-256"
    case p384 = "P-384"

    /// Size of one coordinate in bytes.
    public var coordinateSize: Int { self == .p256 ? 32 : 48 }

    init?(openSSLGroupName name: String) {
        switch name {
        case "prime256v1", "P-256": self = .p256
        case "secp384r1", "P-384": self = .p384
        default: return nil
        }
    }
}
