import TSS
import WardenCrypto

/// Maps TPM signatures onto libcrypto schemes and decides which are accepted.
enum SignatureSchemes {
    /// The libcrypto scheme for `signature`, or why it is refused.
    static func scheme(of signature: TPMSignature, allowSHA1: Bool) -> Result<SignatureScheme, SchemeRefusal> {
        guard let hashID = signature.hash else {
            return .failure(
                SchemeRefusal("signature scheme \(signature.scheme) is not accepted (RSASSA, RSAPSS, ECDSA)"))
        }
        guard let hash = hashID.digestAlgorithm, hash != .sha512 else {
            return .failure(SchemeRefusal("signature hash \(hashID) is not accepted (SHA-256, SHA-384)"))
        }
        if hash == .sha1 && !allowSHA1 {
            return .failure(SchemeRefusal("SHA-1 signatures are refused unless SHA-1 is explicitly allowed"))
        }
        switch signature {
        case .rsassa: return .success(.rsaPKCS1v15(hash))
        case .rsapss: return .success(.rsaPSS(hash))
        case .ecdsa: return .success(.ecdsa(hash))
        case .unsupported: return .failure(SchemeRefusal("signature scheme \(signature.scheme) is not accepted"))
        }
    }

    /// Why `scheme` cannot come from `key`, or nil when it can: the key type must fit, and a
    /// restricted key signs only with the scheme and hash fixed in its public area.
    static func mismatch(_ scheme: SignatureScheme, _ signature: TPMSignature, _ key: AttestationKey) -> String? {
        guard scheme.fits(key.publicKey.kind) else {
            return "a \(scheme) signature cannot come from a \(key.publicKey.kind) key"
        }
        guard let tpmPublic = key.tpmPublic else { return nil }
        let fixed: (scheme: TPMAlgorithmID, hash: TPMAlgorithmID)? =
            switch tpmPublic.key {
            case .rsa(_, _, let scheme, let hash, _): (scheme, hash)
            case .ecc(_, let scheme, let hash, _, _): (scheme, hash)
            case .other: nil
            }
        guard let fixed, fixed.scheme != .null else { return nil }
        guard fixed.scheme == signature.scheme, fixed.hash == signature.hash else {
            return
                "the key signs only \(fixed.scheme)/\(fixed.hash), but the signature is \(signature.scheme)/\(signature.hash.map(String.init(describing:)) ?? "none")"
        }
        return nil
    }

    /// The signature in the form libcrypto checks: raw for RSA, DER for ECDSA.
    static func signatureBytes(_ signature: TPMSignature) -> [UInt8]? {
        switch signature {
        case .rsassa(_, let bytes), .rsapss(_, let bytes): bytes
        case .ecdsa(_, let r, let s): ECDSASignature.der(r: r, s: s)
        case .unsupported: nil
        }
    }
}

/// Why a signature's scheme is not accepted.
struct SchemeRefusal: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
