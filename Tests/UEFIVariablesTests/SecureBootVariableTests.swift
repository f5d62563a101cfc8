import Foundation
import Octets
import Testing
import TestSupport
import UEFIVariables
import WardenCrypto

/// Signature lists and authenticated updates are the bytes efitools writes for the same
/// certificates, owner and time: `cert-to-efi-sig-list` and `sign-efi-sig-list`, including
/// the bundle `-o` hands an offline signer.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/sign-efi-sig-list")))
struct SecureBootVariableTests {
    let folder: URL
    let time = "2026-12-05 03:30:00"
    let date = Date(timeIntervalSince1970: 1_796_441_400)  // 2026-12-05 03:30:00 UTC

    init() throws {
        folder = try TestPaths.temporaryDirectory("uefi-variables")
        for name in ["pk", "kek"] {
            let made = try Command.run(
                "openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test \(name)", "-days", "1",
                    "-keyout", "\(name).key", "-out", "\(name).pem",
                ], in: folder)
            #expect(made.status == 0, "\(made.stderr)")
        }
    }

    func file(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func efitools(_ tool: String, _ arguments: [String]) throws -> [UInt8] {
        let out = file(UUID().uuidString)
        let result = try Command.run(tool, arguments + [out], in: folder)
        #expect(result.status == 0, "\(tool): \(result.stderr)")
        return try TestPaths.bytes(URL(fileURLWithPath: out))
    }

    func der(_ name: String) throws -> [UInt8] {
        let out = file(name + ".der")
        _ = try Command.run("openssl", ["x509", "-in", file(name + ".pem"), "-outform", "DER", "-out", out])
        return try TestPaths.bytes(URL(fileURLWithPath: out))
    }

    func signer(_ name: String) throws -> DetachedSigner {
        DetachedSigner(
            certificatePEM: try String(contentsOfFile: file(name + ".pem"), encoding: .utf8),
            keyPEM: try String(contentsOfFile: file(name + ".key"), encoding: .utf8))
    }

    @Test func signatureListsUpdatesAndBundlesAreEfitools() throws {
        let owner = EFIGUID.warden.description
        #expect(owner == "57617264-656e-4b65-7973-000000000001")
        let list = EFISignatureList.encode(certificates: [try der("kek")])
        let esl = file("kek.esl")
        try Data(list).write(to: URL(fileURLWithPath: esl))
        #expect(try efitools("cert-to-efi-sig-list", ["-g", owner, file("kek.pem")]) == list)

        let time = SecureBootVariable.time(date)
        #expect(
            try efitools("sign-efi-sig-list", ["-o", "-g", owner, "-t", self.time, "KEK", esl])
                == SecureBootVariable.kek.toBeSigned(list, time: time))
        let update = try SecureBootVariable.kek.update(list, time: time, signedBy: try signer("pk"))
        #expect(
            try efitools(
                "sign-efi-sig-list",
                ["-g", owner, "-t", self.time, "-c", file("pk.pem"), "-k", file("pk.key"), "KEK", esl])
                == update)
    }

    /// An offline PK: Warden writes the bundle, the operator signs it with OpenSSL where the
    /// key is, and the update Warden completes from that signature is the one efitools writes
    /// with the key at hand.
    @Test func anOfflineSignatureCompletesTheSameUpdate() throws {
        let list = EFISignatureList.encode(certificates: [try der("pk")])
        let time = SecureBootVariable.time(date)
        let bundle = file("pk.tbs")
        try Data(SecureBootVariable.pk.toBeSigned(list, time: time)).write(to: URL(fileURLWithPath: bundle))
        let signed = try Command.run(
            "openssl",
            [
                "smime", "-sign", "-binary", "-noattr", "-md", "sha256", "-in", bundle, "-signer", file("pk.pem"),
                "-inkey", file("pk.key"), "-outform", "DER", "-out", file("pk.p7"),
            ])
        #expect(signed.status == 0, "\(signed.stderr)")
        let esl = file("pk.esl")
        try Data(list).write(to: URL(fileURLWithPath: esl))
        let direct = try efitools(
            "sign-efi-sig-list",
            ["-g", EFIGUID.warden.description, "-t", self.time, "-c", file("pk.pem"), "-k", file("pk.key"), "PK", esl])
        let signature = try TestPaths.bytes(URL(fileURLWithPath: file("pk.p7")))
        #expect(try SecureBootVariable.pk.update(list, time: time, signature: signature) == direct)
    }

    @Test func aSignatureThatIsNotDERIsRefused() {
        for bad in [[], [0x30], [0x30, 0x05, 0x06, 0x01], Array("not DER".utf8)] as [[UInt8]] {
            #expect(throws: UEFIVariableError.malformedSignature) {
                _ = try SecureBootVariable.db.update([], time: [], signature: bad)
            }
        }
    }
}
