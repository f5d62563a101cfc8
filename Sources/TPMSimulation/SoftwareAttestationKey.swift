import TPM
import TSS
import WardenCrypto

/// An attestation key held in software that produces quotes in a TPM's exact formats.
/// It proves nothing about a platform; it lets benchmarks and load generators exercise the
/// verifier without a TPM's slowness, and lets tests forge what no TPM would sign.
public struct SoftwareAttestationKey: Sendable {
    private let key: SigningKey
    /// The signature scheme, fixed in the public area as a TPM fixes it.
    public let scheme: SignatureScheme
    /// The key's TPM2B_PUBLIC, as `tpm2_createak -u` writes it.
    public let publicArea: [UInt8]

    /// A new key; `attributes` defaults to those of a TPM-made AK.
    public init(
        rsaBits: Int = 2048, scheme: SignatureScheme = .rsaPKCS1v15(.sha256),
        attributes: TPMPublic.Attributes = AttestationKey.requiredAttributes.union(.userWithAuth)
    ) throws {
        let key: SigningKey
        let area: TPMPublic.Key
        let hash = scheme.digest.tpmAlgorithm
        switch scheme {
        case .rsaPKCS1v15, .rsaPSS:
            key = try SigningKey.rsa(bits: rsaBits)
            let modulus = try key.publicKey.rsaComponents?.modulus ?? []
            let tpmScheme: TPMAlgorithmID = if case .rsaPSS = scheme { .rsapss } else { .rsassa }
            area = .rsa(keyBits: UInt16(rsaBits), exponent: 0, scheme: tpmScheme, schemeHash: hash, modulus: modulus)
        case .ecdsa:
            let curve: EllipticCurve = scheme.digest == .sha384 ? .p384 : .p256
            key = try SigningKey.ec(curve)
            let point = try key.publicKey.ecCoordinates
            area = .ecc(
                curve: curve == .p384 ? TPMPublic.curveP384 : TPMPublic.curveP256, scheme: .ecdsa, schemeHash: hash,
                x: point?.x ?? [], y: point?.y ?? [])
        }
        self.key = key
        self.scheme = scheme
        self.publicArea = try TPMPublic.marshalSigningKey(area, attributes: attributes)
    }

    /// Signs `attest` bytes as the TPM would, returning a marshaled TPMT_SIGNATURE.
    public func sign(_ attest: [UInt8]) throws -> [UInt8] {
        let raw = try key.sign(digest: scheme.digest.hash(attest), scheme: scheme)
        let hash = scheme.digest.tpmAlgorithm
        switch scheme {
        case .rsaPKCS1v15: return try TPMSignature.rsassa(hash: hash, signature: raw).marshaled()
        case .rsaPSS: return try TPMSignature.rsapss(hash: hash, signature: raw).marshaled()
        case .ecdsa:
            let width = scheme.digest == .sha384 ? 48 : 32
            guard let (r, s) = ECDSASignature.components(der: raw, width: width) else {
                throw TPMDecodingError("TPMT_SIGNATURE", "libcrypto returned a malformed ECDSA signature")
            }
            return try TPMSignature.ecdsa(hash: hash, r: r, s: s).marshaled()
        }
    }

    /// A quote over `values` with `nonce`, marshaled and signed: (TPMS_ATTEST, TPMT_SIGNATURE).
    public func quote(_ values: PCRValues, nonce: [UInt8], clock: TPMAttest.ClockInfo) throws -> (
        attest: [UInt8], signature: [UInt8]
    ) {
        let attest = try TPMAttest(
            qualifiedSigner: [0x00, 0x0b] + DigestAlgorithm.sha256.hash(publicArea.dropFirst(2)),
            extraData: nonce, clockInfo: clock, firmwareVersion: 0,
            quote: TPMAttest.QuoteInfo(selection: values.selection, pcrDigest: values.compositeDigest(scheme.digest))
        ).marshaled()
        return (attest, try sign(attest))
    }
}
