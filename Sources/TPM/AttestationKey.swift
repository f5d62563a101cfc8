import Octets
import TSS
import WardenCrypto

/// A key that may sign quotes: RSA 2048–4096 bits or ECC P-256/P-384, taken from an AK's
/// TPM2B_PUBLIC (whose attributes are then checked too) or from a PEM public key.
public struct AttestationKey: Sendable {
    /// The key that checks signatures.
    public let publicKey: PublicKey
    /// The TPM public area, when the key came from one (PEM keys carry no attributes).
    public let tpmPublic: TPMPublic?

    /// Attributes every attestation key must have: a restricted signing key that never
    /// left the TPM that made it (TCG: only such keys sign TPM_GENERATED structures).
    public static let requiredAttributes: TPMPublic.Attributes = [
        .restricted, .sign, .fixedTPM, .fixedParent, .sensitiveDataOrigin,
    ]

    /// An AK from its TPM2B_PUBLIC.
    public init(tpmPublic: TPMPublic) throws(AttestationKeyError) {
        let missing = Self.requiredAttributes.subtracting(tpmPublic.attributes)
        guard missing.isEmpty else { throw .attributes(missing) }
        guard !tpmPublic.attributes.contains(.decrypt) else { throw .attributes([.decrypt]) }
        let key: PublicKey
        do {
            switch tpmPublic.key {
            case .rsa(_, let exponent, _, _, let modulus):
                let e = exponent == 0 ? 65537 : exponent
                key = try PublicKey(rsaModulus: modulus, exponent: Self.bigEndian(e))
            case .ecc(let curve, _, _, let x, let y):
                guard let named = Self.curve(curve) else {
                    throw AttestationKeyError.unsupported("ECC curve 0x\(String(curve, radix: 16))")
                }
                key = try PublicKey(curve: named, x: x, y: y)
            case .other(let type):
                throw AttestationKeyError.unsupported("\(type) object")
            }
        } catch let error as AttestationKeyError {
            throw error
        } catch {
            throw .invalid(String(describing: error))
        }
        try Self.checkSize(key.kind)
        self.publicKey = key
        self.tpmPublic = tpmPublic
    }

    /// An AK from a PEM public key; attributes cannot be checked.
    public init(pem: [UInt8]) throws(AttestationKeyError) {
        let key: PublicKey
        do { key = try PublicKey(pem: pem) } catch { throw .invalid(error.description) }
        try Self.checkSize(key.kind)
        self.publicKey = key
        self.tpmPublic = nil
    }

    /// Reads `tpm2_createak -u` output (TPM2B_PUBLIC) or a PEM public key, by content.
    public init(file bytes: [UInt8]) throws(AttestationKeyError) {
        if bytes.starts(with: Array("-----BEGIN".utf8)) {
            try self.init(pem: bytes)
        } else {
            let decoded: TPMPublic
            do { decoded = try TPMPublic.decode(bytes) } catch { throw .invalid(error.description) }
            try self.init(tpmPublic: decoded)
        }
    }

    /// The TPM Name of the key, when it came from a public area.
    public var name: [UInt8]? { tpmPublic?.name }

    private static func checkSize(_ kind: KeyKind) throws(AttestationKeyError) {
        switch kind {
        case .rsa(let bits) where (2048...4096).contains(bits): return
        case .rsa(let bits): throw .unsupported("RSA-\(bits) (2048 to 4096 bits accepted)")
        case .ec: return  // EllipticCurve only has the accepted curves
        case .unsupported(let what): throw .unsupported(what)
        }
    }

    private static func curve(_ tpmCurve: UInt16) -> EllipticCurve? {
        switch tpmCurve {
        case TPMPublic.curveP256: .p256
        case TPMPublic.curveP384: .p384
        default: nil
        }
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        Array(BigEndian.bytes(value).drop { $0 == 0 })
    }
}

/// Why a key cannot serve as an attestation key.
public enum AttestationKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The public area lacks (or has forbidden) these attributes.
    case attributes(TPMPublic.Attributes)
    /// The algorithm, curve or size is not accepted.
    case unsupported(String)
    /// The key material could not be read.
    case invalid(String)

    public var description: String {
        switch self {
        case .attributes(let bits):
            "attestation key attributes wrong (0x\(String(bits.rawValue, radix: 16))): it must be a restricted signing key with fixedTPM, fixedParent and sensitiveDataOrigin"
        case .unsupported(let what): "attestation key not accepted: \(what)"
        case .invalid(let why): "attestation key unreadable: \(why)"
        }
    }
}
