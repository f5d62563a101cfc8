import TSS
import WardenCrypto

/// A TPM's RSA endorsement key, as a verifier knows it: from the EK's TPM2B_PUBLIC
/// (`tpm2_createek -u`), a PEM public key, or the EK certificate (DER or PEM), in which
/// case the TCG default template (RSA-2048, SHA-256, AES-128-CFB) is assumed.
public struct EndorsementKey: Sendable {
    /// The RSA public key that encrypts credential seeds.
    public let publicKey: PublicKey
    /// The EK's name algorithm: OAEP's hash and the KDF's.
    public let nameAlgorithm: DigestAlgorithm
    /// The size of the EK's symmetric key in bytes (AES-128 for the default template).
    public let symmetricKeySize: Int
    /// The public area (given, or the default template's for a PEM key or certificate); its
    /// name identifies the machine.
    public let tpmPublic: TPMPublic

    /// An EK from its public area; it must be an RSA restricted decryption key with AES-CFB.
    public init(tpmPublic: TPMPublic) throws(EndorsementKeyError) {
        guard case .rsa(_, let exponent, _, _, let modulus) = tpmPublic.key else {
            throw .unsupported("only RSA endorsement keys are accepted")
        }
        guard tpmPublic.attributes.isSuperset(of: [.restricted, .decrypt, .fixedTPM, .fixedParent]),
            !tpmPublic.attributes.contains(.sign)
        else { throw .unsupported("not a restricted decryption key") }
        guard let symmetric = tpmPublic.symmetric, symmetric.algorithm == .aes, symmetric.mode == .cfb,
            [128, 192, 256].contains(symmetric.keyBits)
        else { throw .unsupported("the EK's symmetric algorithm must be AES-CFB") }
        guard let nameAlgorithm = tpmPublic.nameAlgorithm.digestAlgorithm, nameAlgorithm != .sha1 else {
            throw .unsupported("name algorithm \(tpmPublic.nameAlgorithm)")
        }
        let e = exponent == 0 ? 65537 : exponent
        do {
            publicKey = try PublicKey(
                rsaModulus: modulus, exponent: [UInt8(e >> 16 & 0xff), UInt8(e >> 8 & 0xff), UInt8(e & 0xff)])
        } catch { throw .invalid(error.description) }
        self.nameAlgorithm = nameAlgorithm
        symmetricKeySize = Int(symmetric.keyBits) / 8
        self.tpmPublic = tpmPublic
    }

    /// An EK known only by its RSA public key (PEM or from a certificate): the TCG default
    /// template L-1 (RSA-2048), whose public area, and so whose name, follows from the key.
    public init(defaultTemplateKey key: PublicKey) throws(EndorsementKeyError) {
        guard case .rsa(2048) = key.kind, let modulus = key.rsaComponents?.modulus else {
            throw .unsupported("\(key.kind) (the default EK template is RSA-2048)")
        }
        do {
            try self.init(tpmPublic: TPMPublic.decode(TPMPublic.marshalDefaultEndorsementKey(modulus: modulus)))
        } catch let error as EndorsementKeyError { throw error } catch { throw .invalid("\(error)") }
    }

    /// Reads `tpm2_createek -u` output, a PEM public key, or an EK certificate, by content.
    public init(file bytes: [UInt8]) throws(EndorsementKeyError) {
        if bytes.starts(with: Array("-----BEGIN PUBLIC KEY".utf8)) {
            do { try self.init(defaultTemplateKey: PublicKey(pem: bytes)) } catch let error as EndorsementKeyError {
                throw error
            } catch { throw .invalid("\(error)") }
        } else if Self.isCertificate(bytes) {
            do { try self.init(defaultTemplateKey: PublicKey(certificate: bytes)) } catch let error
                as EndorsementKeyError
            { throw error } catch { throw .invalid("\(error)") }
        } else {
            let decoded: TPMPublic
            do { decoded = try TPMPublic.decode(bytes) } catch { throw .invalid(error.description) }
            try self.init(tpmPublic: decoded)
        }
    }
}

extension EndorsementKey {
    /// Whether an EK file is a certificate (DER or PEM) rather than a key.
    public static func isCertificate(_ bytes: [UInt8]) -> Bool {
        bytes.first == 0x30 || bytes.starts(with: Array("-----BEGIN CERTIFICATE".utf8))
    }
}

/// Why a key cannot serve as an endorsement key.
public enum EndorsementKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupported(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unsupported(let why): "endorsement key not accepted: \(why)"
        case .invalid(let why): "endorsement key unreadable: \(why)"
        }
    }
}
