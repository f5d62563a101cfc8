import Testing
import TestSupport
import TPM
import TPMSimulation
import TSS
import WardenCrypto

/// Software MakeCredential against a real TPM's ActivateCredential.
@Suite struct CredentialTests {
    /// A TPM with an RSA EK (default template) and an AK under it.
    func tpmWithAK() throws -> SoftwareTPM {
        let tpm = try SoftwareTPM()
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        try tpm.run(
            "tpm2_createak",
            [
                "-C", "ek.ctx", "-c", "ak.ctx", "-G", "rsa", "-g", "sha256", "-s", "rsassa", "-u", "ak.pub", "-n",
                "ak.name",
            ])
        return tpm
    }

    func activate(_ challenge: CredentialChallenge, in tpm: SoftwareTPM) throws -> [UInt8]? {
        try tpm.write("cred.blob", challenge.tpm2ToolsFile)
        try tpm.run("tpm2_startauthsession", ["--policy-session", "-S", "session.ctx"])
        try tpm.run("tpm2_policysecret", ["-S", "session.ctx", "-c", "e"])
        defer { _ = try? tpm.run("tpm2_flushcontext", ["session.ctx"]) }
        do {
            try tpm.run(
                "tpm2_activatecredential",
                ["-c", "ak.ctx", "-C", "ek.ctx", "-i", "cred.blob", "-o", "out.bin", "-P", "session:session.ctx"])
        } catch {
            return nil
        }
        return try tpm.bytes("out.bin")
    }

    @Test func theTPMRecoversTheCredential() throws {
        let tpm = try tpmWithAK()
        let ek = try EndorsementKey(file: tpm.bytes("ek.pub"))
        #expect(ek.symmetricKeySize == 16 && ek.nameAlgorithm == .sha256)
        let ak = try AttestationKey(file: tpm.bytes("ak.pub"))
        #expect(ak.name == (try tpm.bytes("ak.name")))
        let secret = SecureRandom.bytes(32)
        let challenge = try Credential.make(secret, for: try #require(ak.name), to: ek)
        #expect(sameSecret(try activate(challenge, in: tpm), secret), "the credential was not recovered")
    }

    @Test func aChallengeForAnotherNameIsRefusedByTheTPM() throws {
        let tpm = try tpmWithAK()
        let ek = try EndorsementKey(file: tpm.bytes("ek.pub"))
        var otherName = try tpm.bytes("ak.name")
        otherName[otherName.count - 1] ^= 0x01
        let challenge = try Credential.make(SecureRandom.bytes(32), for: otherName, to: ek)
        #expect(try activate(challenge, in: tpm) == nil)
    }

    @Test func aChallengeToAnotherEKIsRefusedByTheTPM() throws {
        let tpm = try tpmWithAK()
        let stranger = try SoftwareTPM()
        try stranger.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        let challenge = try Credential.make(
            SecureRandom.bytes(16), for: try tpm.bytes("ak.name"), to: EndorsementKey(file: stranger.bytes("ek.pub")))
        #expect(try activate(challenge, in: tpm) == nil)
    }

    /// The EK as a PEM key (what a certificate carries) gives the same protection.
    @Test func ekFromItsPEMKey() throws {
        let tpm = try tpmWithAK()
        try tpm.run("tpm2_readpublic", ["-c", "ek.ctx", "-f", "pem", "-o", "ek.pem"])
        let ek = try EndorsementKey(file: tpm.bytes("ek.pem"))
        let secret = SecureRandom.bytes(32)
        #expect(
            sameSecret(try activate(Credential.make(secret, for: tpm.bytes("ak.name"), to: ek), in: tpm), secret),
            "the credential was not recovered")
    }

    @Test func signingKeysAndBadSizesAreRefused() throws {
        let tpm = try tpmWithAK()
        #expect(throws: EndorsementKeyError.self) { try EndorsementKey(file: tpm.bytes("ak.pub")) }
        let ek = try EndorsementKey(file: tpm.bytes("ek.pub"))
        #expect(throws: CredentialError.self) {
            try Credential.make([UInt8](repeating: 1, count: 33), for: tpm.bytes("ak.name"), to: ek)
        }
        #expect(throws: CredentialError.self) { try Credential.make([1], for: [0, 0x0b, 1], to: ek) }
    }

    /// AES-CFB (which protects the credential) decrypts what it encrypted, keeps the length,
    /// and refuses a key of the wrong size.
    @Test func aesCFBRoundTrips() throws {
        let key = SecureRandom.bytes(16), iv = [UInt8](repeating: 0, count: 16)
        let plaintext = Array("credential protection".utf8)
        let ciphertext = try AESCFB.encrypt(plaintext, key: key, iv: iv)
        #expect(ciphertext.count == plaintext.count && ciphertext != plaintext)
        #expect(try AESCFB.decrypt(ciphertext, key: key, iv: iv) == plaintext)
        #expect(throws: OpenSSLError.self) { try AESCFB.encrypt(plaintext, key: [1, 2, 3], iv: iv) }
    }
}

/// The software EK's ActivateCredential recovers what MakeCredential protected, and only
/// for the object it was made for.
@Suite struct SoftwareEndorsementKeyTests {
    @Test func activatesOnlyForItsObject() throws {
        let ek = try SoftwareEndorsementKey()
        let ak = try SoftwareAttestationKey(scheme: .ecdsa(.sha256))
        let name = try #require(try TPMPublic.decode(ak.publicArea).name)
        let secret = SecureRandom.bytes(32)
        let challenge = try Credential.make(secret, for: name, to: ek.endorsementKey)
        #expect(try ek.activate(challenge, objectName: name) == secret)
        let other = try #require(try TPMPublic.decode(SoftwareAttestationKey(scheme: .ecdsa(.sha256)).publicArea).name)
        #expect(throws: CredentialError.self) { try ek.activate(challenge, objectName: other) }
        #expect(throws: (any Error).self) { try SoftwareEndorsementKey().activate(challenge, objectName: name) }
        #expect(throws: CredentialError.self) {
            try ek.activate(CredentialChallenge(credentialBlob: [0, 9, 1], encryptedSecret: []), objectName: name)
        }
    }
}

/// An EK given as a PEM key or a certificate is identified by the name the TPM reports:
/// the default template rebuilt around its modulus is byte for byte `tpm2_createek -u`.
@Suite struct DefaultTemplateTests {
    @Test func theRebuiltPublicAreaIsTheTPMs() throws {
        let tpm = try SoftwareTPM()
        // The EK is derived from the endorsement seed: both runs make the same key.
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        try tpm.run("tpm2_createek", ["-c", "ek2.ctx", "-G", "rsa", "-u", "ek.pem", "-f", "pem"])
        let fromTPM = try EndorsementKey(file: try tpm.bytes("ek.pub"))
        let fromPEM = try EndorsementKey(file: try tpm.bytes("ek.pem"))
        #expect(fromPEM.tpmPublic.marshaled == (try tpm.bytes("ek.pub")))
        #expect(fromPEM.tpmPublic.name == fromTPM.tpmPublic.name)
    }
}
