import Octets
import TSS
import WardenCrypto

/// A credential made for one object in one TPM (TPM2_MakeCredential, done in software):
/// only the TPM holding the EK's private key, and holding an object with the given Name,
/// can recover it with TPM2_ActivateCredential.
public struct CredentialChallenge: Sendable, Equatable {
    /// TPM2B_ID_OBJECT: integrityHMAC and encIdentity.
    public let credentialBlob: [UInt8]
    /// TPM2B_ENCRYPTED_SECRET: the seed, OAEP-encrypted to the EK.
    public let encryptedSecret: [UInt8]

    /// A challenge as received (by an agent, from the wire).
    public init(credentialBlob: [UInt8], encryptedSecret: [UInt8]) {
        self.credentialBlob = credentialBlob
        self.encryptedSecret = encryptedSecret
    }

    /// The file `tpm2_makecredential -o` writes and `tpm2_activatecredential -i` reads.
    public var tpm2ToolsFile: [UInt8] { [0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1] + credentialBlob + encryptedSecret }
}

/// TPM 2.0 credential protection (TPM 2.0 Part 1, "Credential Protection"), in software.
public enum Credential {
    /// The OAEP label of a credential seed: "IDENTITY" and its NUL byte.
    package static let identityLabel = Array("IDENTITY".utf8) + [0]

    /// Protects `credential` (at most the EK name algorithm's digest size) for the object
    /// named `objectName` inside the TPM that holds `ek`. `seed` is random unless given.
    public static func make(_ credential: [UInt8], for objectName: [UInt8], to ek: EndorsementKey, seed: [UInt8]? = nil)
        throws -> CredentialChallenge
    {
        let hash = ek.nameAlgorithm
        guard !credential.isEmpty, credential.count <= hash.digestSize else {
            throw CredentialError("a credential holds 1 to \(hash.digestSize) bytes, not \(credential.count)")
        }
        guard
            objectName.count == 2 + hash.digestSize || objectName.count == 2 + 20 || objectName.count == 2 + 48
                || objectName.count == 2 + 64
        else {
            throw CredentialError("\(objectName.count) bytes is not a TPM object Name")
        }
        let seed = seed ?? SecureRandom.bytes(hash.digestSize)
        let encryptedSeed = try ek.publicKey.encryptOAEP(seed, digest: hash, label: identityLabel)
        let symmetricKey = kdfa(
            hash, key: seed, label: "STORAGE", contextU: objectName, contextV: [], bits: ek.symmetricKeySize * 8)
        let identity = BigEndian.bytes(UInt16(truncatingIfNeeded: credential.count)) + credential  // TPM2B_DIGEST
        let encIdentity = try AESCFB.encrypt(identity, key: symmetricKey, iv: [UInt8](repeating: 0, count: 16))
        let hmacKey = kdfa(hash, key: seed, label: "INTEGRITY", contextU: [], contextV: [], bits: hash.digestSize * 8)
        let integrity = HMAC.authenticate(encIdentity + objectName, key: hmacKey, digest: hash)
        let idObject = BigEndian.bytes(UInt16(truncatingIfNeeded: integrity.count)) + integrity + encIdentity
        return CredentialChallenge(
            credentialBlob: BigEndian.bytes(UInt16(truncatingIfNeeded: idObject.count)) + idObject,
            encryptedSecret: BigEndian.bytes(UInt16(truncatingIfNeeded: encryptedSeed.count)) + encryptedSeed
        )
    }

    /// KDFa (TPM 2.0 Part 1, 11.4.10.2): HMAC in counter mode over a NUL-terminated label.
    package static func kdfa(
        _ hash: DigestAlgorithm, key: [UInt8], label: String, contextU: [UInt8], contextV: [UInt8], bits: Int
    ) -> [UInt8] {
        let fixed = Array(label.utf8) + [0] + contextU + contextV + BigEndian.bytes(UInt32(truncatingIfNeeded: bits))
        var out: [UInt8] = []
        var counter = 1
        while out.count * 8 < bits {
            out += HMAC.authenticate(
                BigEndian.bytes(UInt32(truncatingIfNeeded: counter)) + fixed, key: key, digest: hash)
            counter += 1
        }
        return Array(out.prefix((bits + 7) / 8))
    }

}

/// A credential cannot be made from these inputs.
public struct CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    package init(_ description: String) { self.description = description }
}
