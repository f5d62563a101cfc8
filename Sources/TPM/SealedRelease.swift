import Octets
import TSS
import WardenCrypto

/// What Warden hands a machine that passed attestation: a payload (its disk key and join
/// configuration) that only that machine's TPM can open, signed by Warden's release key so
/// that a rogue server cannot hand out keys it chose.
///
/// A fresh 32-byte key encrypts the payload (AES-256-GCM, bound to the AK's Name); the key
/// travels as a TPM credential for that AK under that EK (software MakeCredential), so only
/// TPM2_ActivateCredential in that TPM recovers it.
public struct SealedRelease: Sendable, Equatable {
    public let credential: CredentialChallenge
    public let ciphertext: [UInt8]
    /// ECDSA (DER) by the release key over ``signedDigest``.
    public let signature: [UInt8]

    static let context = Array("warden release v1".utf8)

    /// A release as received (by an agent, from the wire); check ``isSigned(by:for:)`` first.
    public init(credential: CredentialChallenge, ciphertext: [UInt8], signature: [UInt8]) {
        self.credential = credential
        self.ciphertext = ciphertext
        self.signature = signature
    }

    /// Seals `payload` for the AK named `akName` in the TPM holding `ek`, signed with `releaseKey`.
    public static func seal(_ payload: [UInt8], for akName: [UInt8], under ek: EndorsementKey, releaseKey: SigningKey)
        throws -> SealedRelease
    {
        let key = SecureRandom.bytes(AESGCM.keySize)
        let credential = try Credential.make(key, for: akName, to: ek)
        let ciphertext = try AESGCM.seal(payload, key: key, associatedData: context + akName)
        let digest = signedDigest(credential: credential, ciphertext: ciphertext, akName: akName)
        return SealedRelease(
            credential: credential, ciphertext: ciphertext,
            signature: try releaseKey.sign(digest: digest, scheme: .ecdsa(.sha256)))
    }

    /// Checks the release signature: done before anything else touches the release.
    public func isSigned(by releasePublicKey: PublicKey, for akName: [UInt8]) -> Bool {
        releasePublicKey.isValidSignature(
            signature, digest: Self.signedDigest(credential: credential, ciphertext: ciphertext, akName: akName),
            scheme: .ecdsa(.sha256))
    }

    /// Opens the payload with the key TPM2_ActivateCredential recovered.
    public func open(withActivatedKey key: [UInt8], akName: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        try AESGCM.open(ciphertext, key: key, associatedData: Self.context + akName)
    }

    /// SHA-256 over the context, the AK name, and each part with its length.
    static func signedDigest(credential: CredentialChallenge, ciphertext: [UInt8], akName: [UInt8]) -> [UInt8] {
        var hasher = Hasher(.sha256)
        for part in [context, akName, credential.credentialBlob, credential.encryptedSecret, ciphertext] {
            hasher.update(BigEndian.bytes(UInt32(truncatingIfNeeded: part.count)))
            hasher.update(part)
        }
        return hasher.finalize()
    }
}
