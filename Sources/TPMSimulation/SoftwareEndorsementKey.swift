import Octets
import TPM
import TSS
import WardenCrypto

/// An endorsement key held in software, shaped as the TCG default template L-1 (RSA-2048,
/// SHA-256, AES-128-CFB), that performs TPM2_ActivateCredential. Like
/// ``SoftwareAttestationKey`` it proves nothing; it lets load generators play many
/// machines without a TPM's slowness.
public struct SoftwareEndorsementKey: Sendable {
    private let key: SigningKey
    /// The EK's TPM2B_PUBLIC, as `tpm2_createek -u` writes it.
    public let publicArea: [UInt8]
    /// The EK as a verifier knows it.
    public let endorsementKey: EndorsementKey

    public init() throws {
        key = try SigningKey.rsa(bits: 2048)
        guard let modulus = try key.publicKey.rsaComponents?.modulus else {
            throw CredentialError("the RSA key has no modulus")
        }
        publicArea = try TPMPublic.marshalDefaultEndorsementKey(modulus: modulus)
        endorsementKey = try EndorsementKey(file: publicArea)
    }

    /// TPM2_ActivateCredential: recovers the credential of `challenge` for the object named
    /// `objectName`, refusing one whose integrity HMAC does not hold.
    public func activate(_ challenge: CredentialChallenge, objectName: [UInt8]) throws -> [UInt8] {
        let hash = endorsementKey.nameAlgorithm
        var blob = SizedFields(challenge.credentialBlob)
        var idObject = SizedFields(try blob.sized())
        let integrity = try idObject.sized()
        let encIdentity = idObject.rest
        var secret = SizedFields(challenge.encryptedSecret)
        let seed = try key.decryptOAEP(try secret.sized(), digest: hash, label: Credential.identityLabel)
        let hmacKey = Credential.kdfa(
            hash, key: seed, label: "INTEGRITY", contextU: [], contextV: [], bits: hash.digestSize * 8)
        guard ConstantTime.equals(HMAC.authenticate(encIdentity + objectName, key: hmacKey, digest: hash), integrity)
        else {
            throw CredentialError("the credential's integrity check fails: it is not for this EK and object")
        }
        let symmetricKey = Credential.kdfa(
            hash, key: seed, label: "STORAGE", contextU: objectName, contextV: [],
            bits: endorsementKey.symmetricKeySize * 8)
        var identity = SizedFields(
            try AESCFB.decrypt(encIdentity, key: symmetricKey, iv: [UInt8](repeating: 0, count: 16)))
        return try identity.sized()
    }
}

/// Reads TPM2B-style size-prefixed fields.
private struct SizedFields {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var rest: [UInt8] { Array(bytes[offset...]) }

    mutating func sized() throws -> [UInt8] {
        guard bytes.count - offset >= 2 else { throw CredentialError("truncated credential") }
        let size = Int(BigEndian.read(UInt16.self, bytes[...], at: offset))
        guard bytes.count - offset - 2 >= size else { throw CredentialError("truncated credential") }
        defer { offset += 2 + size }
        return Array(bytes[(offset + 2)..<(offset + 2 + size)])
    }
}
