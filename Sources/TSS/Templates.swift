import CTSS2

/// Public-area templates for the keys Warden's agent creates.
enum Templates {
    /// TCG EK Credential Profile template L-1: RSA-2048, SHA-256, AES-128-CFB, with the
    /// standard PolicySecret(TPM_RH_ENDORSEMENT) policy and an all-zero 256-byte unique field.
    static func endorsementKey() -> TPMT_PUBLIC {
        var area = TPMT_PUBLIC()
        area.type = TPMAlgorithmID.rsa.rawValue
        area.nameAlg = TPMAlgorithmID.sha256.rawValue
        area.objectAttributes =
            TPMPublic.Attributes([
                .fixedTPM, .fixedParent, .sensitiveDataOrigin, .adminWithPolicy, .restricted, .decrypt,
            ]).rawValue
        let policy: [UInt8] = [
            0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
            0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
        ]
        area.authPolicy.size = (try? fill(&area.authPolicy.buffer, with: policy, structure: "TPM2B_DIGEST")) ?? 0
        area.parameters.rsaDetail.symmetric.algorithm = TPMAlgorithmID.aes.rawValue
        area.parameters.rsaDetail.symmetric.keyBits.aes = 128
        area.parameters.rsaDetail.symmetric.mode.aes = TPMAlgorithmID.cfb.rawValue
        area.parameters.rsaDetail.scheme.scheme = TPMAlgorithmID.null.rawValue
        area.parameters.rsaDetail.keyBits = 2048
        area.parameters.rsaDetail.exponent = 0
        area.unique.rsa.size = 256
        return area
    }

    /// A restricted RSA-2048 signing key with RSASSA/SHA-256, made in and bound to this TPM.
    static func attestationKey() -> TPMT_PUBLIC {
        var area = TPMT_PUBLIC()
        area.type = TPMAlgorithmID.rsa.rawValue
        area.nameAlg = TPMAlgorithmID.sha256.rawValue
        area.objectAttributes =
            TPMPublic.Attributes([.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .restricted, .sign])
            .rawValue
        area.parameters.rsaDetail.symmetric.algorithm = TPMAlgorithmID.null.rawValue
        area.parameters.rsaDetail.scheme.scheme = TPMAlgorithmID.rsassa.rawValue
        area.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPMAlgorithmID.sha256.rawValue
        area.parameters.rsaDetail.keyBits = 2048
        area.parameters.rsaDetail.exponent = 0
        return area
    }
}
