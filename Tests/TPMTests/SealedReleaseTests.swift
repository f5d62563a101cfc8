import Testing
import TestSupport
import TPM
import WardenCrypto

/// A release opens only in the TPM it was made for, and only if Warden signed it.
@Suite struct SealedReleaseTests {
    @Test func theTargetTPMOpensASignedRelease() throws {
        let tpm = try SoftwareTPM()
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        try tpm.run(
            "tpm2_createak",
            [
                "-C", "ek.ctx", "-c", "ak.ctx", "-G", "rsa", "-g", "sha256", "-s", "rsassa", "-u", "ak.pub", "-n",
                "ak.name",
            ])
        let akName = try tpm.bytes("ak.name")
        let releaseKey = try SigningKey.ec(.p256)
        let payload = Array("disk-key and k3s join configuration".utf8)
        let release = try SealedRelease.seal(
            payload, for: akName, under: EndorsementKey(file: tpm.bytes("ek.pub")), releaseKey: releaseKey)

        #expect(release.isSigned(by: try releaseKey.publicKey, for: akName))
        #expect(!release.isSigned(by: try SigningKey.ec(.p256).publicKey, for: akName))
        var otherName = akName
        otherName[otherName.count - 1] ^= 1
        #expect(!release.isSigned(by: try releaseKey.publicKey, for: otherName))

        try tpm.write("cred.blob", release.credential.tpm2ToolsFile)
        try tpm.run("tpm2_startauthsession", ["--policy-session", "-S", "session.ctx"])
        try tpm.run("tpm2_policysecret", ["-S", "session.ctx", "-c", "e"])
        try tpm.run(
            "tpm2_activatecredential",
            ["-c", "ak.ctx", "-C", "ek.ctx", "-i", "cred.blob", "-o", "key.bin", "-P", "session:session.ctx"])
        let key = try tpm.bytes("key.bin")
        #expect(try release.open(withActivatedKey: key, akName: akName) == payload)
        #expect(throws: OpenSSLError.self) { try release.open(withActivatedKey: key, akName: otherName) }
        #expect(throws: OpenSSLError.self) {
            try release.open(withActivatedKey: SecureRandom.bytes(32), akName: akName)
        }
    }
}
