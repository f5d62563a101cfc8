import CTSS2
import Octets

/// A decoded TPM2B_PUBLIC (`tpm2_createak -u`, `tpm2_createek -u`): an object's public area.
public struct TPMPublic: Sendable, Equatable {
    /// TPMA_OBJECT bits.
    public struct Attributes: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let fixedTPM = Attributes(rawValue: 0x0000_0002)
        public static let stClear = Attributes(rawValue: 0x0000_0004)
        public static let fixedParent = Attributes(rawValue: 0x0000_0010)
        public static let sensitiveDataOrigin = Attributes(rawValue: 0x0000_0020)
        public static let userWithAuth = Attributes(rawValue: 0x0000_0040)
        public static let adminWithPolicy = Attributes(rawValue: 0x0000_0080)
        public static let noDA = Attributes(rawValue: 0x0000_0400)
        public static let encryptedDuplication = Attributes(rawValue: 0x0000_0800)
        public static let restricted = Attributes(rawValue: 0x0001_0000)
        public static let decrypt = Attributes(rawValue: 0x0002_0000)
        public static let sign = Attributes(rawValue: 0x0004_0000)
    }

    /// The key material and its parameters.
    public enum Key: Sendable, Equatable {
        /// An RSA key; `exponent` 0 means the default 65537.
        case rsa(
            keyBits: UInt16, exponent: UInt32, scheme: TPMAlgorithmID, schemeHash: TPMAlgorithmID, modulus: [UInt8])
        /// An ECC key on TPM curve `curve` (TPM_ECC_CURVE).
        case ecc(curve: UInt16, scheme: TPMAlgorithmID, schemeHash: TPMAlgorithmID, x: [UInt8], y: [UInt8])
        /// Another object type (keyed hash, symmetric cipher).
        case other(type: TPMAlgorithmID)
    }

    /// A storage key's symmetric algorithm (TPMT_SYM_DEF_OBJECT), such as AES-128-CFB for an EK.
    public struct Symmetric: Sendable, Equatable {
        public let algorithm: TPMAlgorithmID
        public let keyBits: UInt16
        public let mode: TPMAlgorithmID
    }

    /// TPM_ECC_NIST_P256.
    public static let curveP256: UInt16 = 0x0003
    /// TPM_ECC_NIST_P384.
    public static let curveP384: UInt16 = 0x0004

    public let nameAlgorithm: TPMAlgorithmID
    public let attributes: Attributes
    public let authPolicy: [UInt8]
    public let key: Key
    /// The symmetric algorithm of a restricted decryption (storage) key; nil when NULL.
    public let symmetric: Symmetric?
    /// The marshaled TPMT_PUBLIC exactly as received: its digest is the object's Name.
    public let publicArea: [UInt8]

    /// The TPM2B_PUBLIC: the public area with its size prefix.
    public var marshaled: [UInt8] { BigEndian.bytes(UInt16(publicArea.count)) + publicArea }

    /// Decodes a marshaled TPM2B_PUBLIC through libtss2-mu; the size prefix must match.
    public static func decode(_ bytes: [UInt8]) throws(TPMDecodingError) -> TPMPublic {
        var reader = MUReader(bytes, structure: "TPM2B_PUBLIC")
        var value = TPM2B_PUBLIC()
        try reader.read("public area", into: &value, Tss2_MU_TPM2B_PUBLIC_Unmarshal)
        try reader.requireEnd()
        guard Int(value.size) == bytes.count - 2 else {
            throw TPMDecodingError("TPM2B_PUBLIC", "size field \(value.size) but \(bytes.count - 2) bytes follow")
        }
        let area = value.publicArea
        let type = TPMAlgorithmID(rawValue: area.type)
        let key: Key
        var symmetric: TPMT_SYM_DEF_OBJECT?
        switch type {
        case .rsa:
            symmetric = area.parameters.rsaDetail.symmetric
            let rsa = area.parameters.rsaDetail
            key = .rsa(
                keyBits: rsa.keyBits, exponent: rsa.exponent,
                scheme: TPMAlgorithmID(rawValue: rsa.scheme.scheme),
                schemeHash: TPMAlgorithmID(rawValue: rsa.scheme.details.anySig.hashAlg),
                modulus: prefixBytes(of: area.unique.rsa.buffer, area.unique.rsa.size)
            )
        case .ecc:
            let ecc = area.parameters.eccDetail
            symmetric = ecc.symmetric
            key = .ecc(
                curve: ecc.curveID,
                scheme: TPMAlgorithmID(rawValue: ecc.scheme.scheme),
                schemeHash: TPMAlgorithmID(rawValue: ecc.scheme.details.anySig.hashAlg),
                x: prefixBytes(of: area.unique.ecc.x.buffer, area.unique.ecc.x.size),
                y: prefixBytes(of: area.unique.ecc.y.buffer, area.unique.ecc.y.size)
            )
        default:
            key = .other(type: type)
        }
        return TPMPublic(
            nameAlgorithm: TPMAlgorithmID(rawValue: area.nameAlg),
            attributes: Attributes(rawValue: area.objectAttributes),
            authPolicy: prefixBytes(of: area.authPolicy.buffer, area.authPolicy.size),
            key: key,
            symmetric: symmetric.flatMap { definition in
                let algorithm = TPMAlgorithmID(rawValue: definition.algorithm)
                guard algorithm != .null else { return nil }
                return Symmetric(
                    algorithm: algorithm, keyBits: definition.keyBits.sym,
                    mode: TPMAlgorithmID(rawValue: definition.mode.sym))
            },
            publicArea: Array(bytes.dropFirst(2))
        )
    }

    /// The TPM2B_PUBLIC of an endorsement key made from the TCG default template L-1 with
    /// this RSA-2048 modulus: what a TPM reports for that EK, so its name can be computed
    /// from a PEM key or an EK certificate alone.
    public static func marshalDefaultEndorsementKey(modulus: [UInt8]) throws(TPMDecodingError) -> [UInt8] {
        guard modulus.count == 256 else {
            throw TPMDecodingError("TPM2B_PUBLIC", "the default EK template holds an RSA-2048 modulus")
        }
        var area = Templates.endorsementKey()
        area.unique.rsa.size = try fill(&area.unique.rsa.buffer, with: modulus, structure: "TPM2B_PUBLIC_KEY_RSA")
        var value = TPM2B_PUBLIC(size: 0, publicArea: area)
        var writer = MUWriter(structure: "TPM2B_PUBLIC")
        try writer.write(&value, Tss2_MU_TPM2B_PUBLIC_Marshal)
        return writer.bytes
    }

    /// Marshals a signing-key public area (the shape `tpm2_createak` makes) for a software
    /// identity: sha256 name, restricted signing key, no symmetric algorithm.
    public static func marshalSigningKey(_ key: Key, attributes: Attributes) throws(TPMDecodingError) -> [UInt8] {
        var area = TPMT_PUBLIC()
        area.nameAlg = TPMAlgorithmID.sha256.rawValue
        area.objectAttributes = attributes.rawValue
        switch key {
        case .rsa(let bits, let exponent, let scheme, let hash, let modulus):
            area.type = TPMAlgorithmID.rsa.rawValue
            area.parameters.rsaDetail.symmetric.algorithm = TPMAlgorithmID.null.rawValue
            area.parameters.rsaDetail.scheme.scheme = scheme.rawValue
            area.parameters.rsaDetail.scheme.details.anySig.hashAlg = hash.rawValue
            area.parameters.rsaDetail.keyBits = bits
            area.parameters.rsaDetail.exponent = exponent
            area.unique.rsa.size = try fill(&area.unique.rsa.buffer, with: modulus, structure: "TPM2B_PUBLIC_KEY_RSA")
        case .ecc(let curve, let scheme, let hash, let x, let y):
            area.type = TPMAlgorithmID.ecc.rawValue
            area.parameters.eccDetail.symmetric.algorithm = TPMAlgorithmID.null.rawValue
            area.parameters.eccDetail.scheme.scheme = scheme.rawValue
            area.parameters.eccDetail.scheme.details.anySig.hashAlg = hash.rawValue
            area.parameters.eccDetail.curveID = curve
            area.parameters.eccDetail.kdf.scheme = TPMAlgorithmID.null.rawValue
            area.unique.ecc.x.size = try fill(&area.unique.ecc.x.buffer, with: x, structure: "TPM2B_ECC_PARAMETER")
            area.unique.ecc.y.size = try fill(&area.unique.ecc.y.buffer, with: y, structure: "TPM2B_ECC_PARAMETER")
        case .other(let type):
            throw TPMDecodingError("TPM2B_PUBLIC", "cannot marshal a \(type) key")
        }
        var value = TPM2B_PUBLIC(size: 0, publicArea: area)
        var writer = MUWriter(structure: "TPM2B_PUBLIC")
        try writer.write(&value, Tss2_MU_TPM2B_PUBLIC_Marshal)
        return writer.bytes
    }
}
