import COpenSSL
import Synchronization

/// Owns one EVP_PKEY. libcrypto allows concurrent use of a key that is no longer modified,
/// and Warden never modifies a key after creating it.
///
/// It also keeps the operation contexts it has prepared (``withContext(for:_:)``):
/// OpenSSL 3 looks the algorithm up among its providers, under a lock every thread shares,
/// each time a context is initialised, which cost a release signature, a credential's OAEP
/// and a quote's check a third of their time or more.
final class KeyHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    /// What kind of key this is, read from libcrypto once: every signature checked and every
    /// OAEP run asks.
    let kind: KeyKind
    /// Prepared contexts not in use, by operation. A context is used by one thread at a time:
    /// it is taken out while in use.
    private let idle = Mutex<[KeyOperation: [IdleContext]]>([:])

    /// An EVP_PKEY_CTX no thread is using, which the next may take.
    private struct IdleContext: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// The most idle contexts kept for one operation: as many as may use the key at once
    /// (the agent API's threads and the committer, for the release key) without growing
    /// for a burst. A key nearly always keeps one: an idle EC or RSA context holds 0.3 to
    /// 0.7 KiB of libcrypto's heap, against some 1 to 2 KiB for the key itself.
    static let idleLimit = 4

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

    deinit {
        idle.withLock { idle in
            for context in idle.values.joined() { EVP_PKEY_CTX_free(context.pointer) }
        }
        EVP_PKEY_free(pointer)
    }

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

    /// Runs `body` with a context for `operation`: an idle one, or a new one prepared for it
    /// (nil when it could not be). The context is kept for the next call unless `body` gave
    /// nil, which a caller gives for an error that may have left the context in any state.
    func withContext<T>(for operation: KeyOperation, _ body: (OpaquePointer) -> T?) -> T? {
        let context: OpaquePointer
        if let kept = idle.withLock({ $0[operation]?.popLast() }) {
            context = kept.pointer
        } else {
            guard let fresh = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { return nil }
            guard operation.prepare(fresh) else {
                EVP_PKEY_CTX_free(fresh)
                return nil
            }
            context = fresh
        }
        guard let result = body(context) else {
            EVP_PKEY_CTX_free(context)
            return nil
        }
        let returned = IdleContext(pointer: context)
        let kept = idle.withLock { idle in
            guard idle[operation, default: []].count < Self.idleLimit else { return false }
            idle[operation, default: []].append(returned)
            return true
        }
        if !kept { EVP_PKEY_CTX_free(context) }
        return result
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

/// What a prepared context of a key does. The operation alone says how its context is
/// prepared (``prepare(_:)``), so contexts kept apart by operation are kept apart by
/// everything their preparation set.
enum KeyOperation: Hashable {
    case sign(SignatureScheme)
    case verify(SignatureScheme)
    /// RSA-OAEP with `digest` for both OAEP and MGF1, and `label`.
    case oaep(encrypt: Bool, digest: DigestAlgorithm, label: [UInt8])

    /// Initialises a new `context` for this operation; false when libcrypto refused.
    func prepare(_ context: OpaquePointer) -> Bool {
        switch self {
        case .sign(let scheme): EVP_PKEY_sign_init(context) == 1 && Self.set(scheme, on: context)
        case .verify(let scheme): EVP_PKEY_verify_init(context) == 1 && Self.set(scheme, on: context)
        case .oaep(let encrypt, let digest, let label):
            (encrypt ? EVP_PKEY_encrypt_init(context) : EVP_PKEY_decrypt_init(context)) == 1
                && EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1
                && EVP_PKEY_CTX_set_rsa_oaep_md(context, digest.method) == 1
                && EVP_PKEY_CTX_set_rsa_mgf1_md(context, digest.method) == 1
                && warden_set_oaep_label(context, label, label.count) == 1
        }
    }

    /// The scheme's digest and padding, on a context initialised for signing or verifying.
    private static func set(_ scheme: SignatureScheme, on context: OpaquePointer) -> Bool {
        guard EVP_PKEY_CTX_set_signature_md(context, scheme.digest.method) == 1 else { return false }
        switch scheme {
        case .rsaPKCS1v15:
            return EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
        case .rsaPSS:
            // "auto": verification accepts any salt length (TPMs differ), signing uses the maximum.
            return EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING) == 1
                && warden_set_rsa_pss_saltlen_auto(context) == 1
        case .ecdsa:
            return true
        }
    }
}
