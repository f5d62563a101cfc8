import Testing
import TestSupport
import TPM
import TSS
import WardenCrypto

/// The agent's side of attestation through libtss2-esys, against a real software TPM.
@Suite struct TPMDeviceTests {
    @Test func ekQuoteAndCredentialThroughESYS() throws {
        let tpm = try SoftwareTPM()
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        try tpm.run(
            "tpm2_pcrextend",
            ["4:sha256=" + String(repeating: "ab", count: 32) + ",sha1=" + String(repeating: "cd", count: 20)])
        let toolsEK = try tpm.bytes("ek.pub")

        let device = try TPMDevice(tcti: tpm.tcti)
        let ek = try device.createEndorsementKey()
        #expect(ek.publicArea == toolsEK, "the default template gives the key tpm2_createek gives")
        let ak = try device.createAttestationKey(under: ek)
        let attestationKey = try AttestationKey(file: ak.publicArea)

        let selection = PCRSelection([
            PCRSelection.Bank(hash: .sha256, pcrs: Array(0...7)), PCRSelection.Bank(hash: .sha1, pcrs: [0, 4, 7]),
        ])
        let nonce = SecureRandom.bytes(32)
        let quote = try device.quote(with: ak, selection: selection, nonce: nonce)
        let values = try PCRValues(selection: selection, values: device.readPCRs(selection))
        #expect(values.value(bank: .sha256, pcr: 4) != [UInt8](repeating: 0, count: 32))
        let verdict = QuoteVerifier().verify(
            Evidence(
                attestationKey: ak.publicArea, attest: quote.attest, signature: quote.signature,
                pcrs: try TPM2ToolsPCRFile.serialize(values), nonce: nonce))
        #expect(verdict.failures.isEmpty, "\(verdict.failures)")

        let secret = SecureRandom.bytes(32)
        let challenge = try Credential.make(
            secret, for: try #require(attestationKey.name), to: EndorsementKey(file: ek.publicArea))
        #expect(
            sameSecret(
                try device.activateCredential(
                    ak: ak, ek: ek, credentialBlob: challenge.credentialBlob, encryptedSecret: challenge.encryptedSecret
                ), secret), "the credential was not recovered")

        let stranger = try Credential.make(
            secret, for: [0, 0x0b] + SecureRandom.bytes(32), to: EndorsementKey(file: ek.publicArea))
        #expect(throws: TPMDeviceError.self) {
            try device.activateCredential(
                ak: ak, ek: ek, credentialBlob: stranger.credentialBlob, encryptedSecret: stranger.encryptedSecret)
        }
        device.flush(ak)
        device.flush(ek)
    }

    @Test func anUnreachableTPMIsAnError() {
        #expect(throws: TPMDeviceError.self) {
            _ = try TPMDevice(tcti: "swtpm:host=127.0.0.1,port=1").createEndorsementKey()
        }
    }
}
