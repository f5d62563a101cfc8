import CTSS2

/// A decoded TPMT_SIGNATURE (`tpm2_quote -s` in its default `tss` format).
public enum TPMSignature: Sendable, Equatable {
    /// RSASSA-PKCS1-v1_5 over a digest of `hash`.
    case rsassa(hash: TPMAlgorithmID, signature: [UInt8])
    /// RSASSA-PSS over a digest of `hash`.
    case rsapss(hash: TPMAlgorithmID, signature: [UInt8])
    /// ECDSA over a digest of `hash`, as big-endian r and s.
    case ecdsa(hash: TPMAlgorithmID, r: [UInt8], s: [UInt8])
    /// Any other scheme (HMAC, ECDAA, SM2, ECSchnorr, NULL): decoded, never accepted.
    case unsupported(scheme: TPMAlgorithmID)

    /// The signature scheme's algorithm ID.
    public var scheme: TPMAlgorithmID {
        switch self {
        case .rsassa: .rsassa
        case .rsapss: .rsapss
        case .ecdsa: .ecdsa
        case .unsupported(let scheme): scheme
        }
    }

    /// The digest algorithm the signature covers, where the scheme has one.
    public var hash: TPMAlgorithmID? {
        switch self {
        case .rsassa(let hash, _), .rsapss(let hash, _), .ecdsa(let hash, _, _): hash
        case .unsupported: nil
        }
    }

    /// Decodes a marshaled TPMT_SIGNATURE through libtss2-mu; every byte must belong to it.
    public static func decode(_ bytes: [UInt8]) throws(TPMDecodingError) -> TPMSignature {
        var reader = MUReader(bytes, structure: "TPMT_SIGNATURE")
        var signature = TPMT_SIGNATURE()
        try reader.read("signature", into: &signature, Tss2_MU_TPMT_SIGNATURE_Unmarshal)
        try reader.requireEnd()
        let scheme = TPMAlgorithmID(rawValue: signature.sigAlg)
        switch scheme {
        case .rsassa:
            let rsa = signature.signature.rsassa
            return .rsassa(
                hash: TPMAlgorithmID(rawValue: rsa.hash), signature: prefixBytes(of: rsa.sig.buffer, rsa.sig.size))
        case .rsapss:
            let rsa = signature.signature.rsapss
            return .rsapss(
                hash: TPMAlgorithmID(rawValue: rsa.hash), signature: prefixBytes(of: rsa.sig.buffer, rsa.sig.size))
        case .ecdsa:
            let ecc = signature.signature.ecdsa
            return .ecdsa(
                hash: TPMAlgorithmID(rawValue: ecc.hash),
                r: prefixBytes(of: ecc.signatureR.buffer, ecc.signatureR.size),
                s: prefixBytes(of: ecc.signatureS.buffer, ecc.signatureS.size)
            )
        default:
            return .unsupported(scheme: scheme)
        }
    }

    /// Marshals the signature to TPMT_SIGNATURE bytes.
    public func marshaled() throws(TPMDecodingError) -> [UInt8] {
        var signature = TPMT_SIGNATURE()
        signature.sigAlg = scheme.rawValue
        switch self {
        case .rsassa(let hash, let bytes):
            signature.signature.rsassa.hash = hash.rawValue
            signature.signature.rsassa.sig.size = try fill(
                &signature.signature.rsassa.sig.buffer, with: bytes, structure: "TPMT_SIGNATURE")
        case .rsapss(let hash, let bytes):
            signature.signature.rsapss.hash = hash.rawValue
            signature.signature.rsapss.sig.size = try fill(
                &signature.signature.rsapss.sig.buffer, with: bytes, structure: "TPMT_SIGNATURE")
        case .ecdsa(let hash, let r, let s):
            signature.signature.ecdsa.hash = hash.rawValue
            signature.signature.ecdsa.signatureR.size = try fill(
                &signature.signature.ecdsa.signatureR.buffer, with: r, structure: "TPMT_SIGNATURE")
            signature.signature.ecdsa.signatureS.size = try fill(
                &signature.signature.ecdsa.signatureS.buffer, with: s, structure: "TPMT_SIGNATURE")
        case .unsupported(let scheme):
            throw TPMDecodingError("TPMT_SIGNATURE", "cannot marshal scheme \(scheme)")
        }
        var writer = MUWriter(structure: "TPMT_SIGNATURE")
        try writer.write(&signature, Tss2_MU_TPMT_SIGNATURE_Marshal)
        return writer.bytes
    }
}
