import Foundation
import Server
import Store
import Testing
import TestSupport
import WardenCrypto
import X509

/// A join bundle carries the shared keys sealed under a passphrase; the new appliance
/// issues its own certificate from them; nothing opens it without the passphrase.
@Suite struct JoinBundleTests {
    /// A cheaper scrypt than an operator's bundle gets, within what an opener accepts.
    let cost = PassphraseSeal.Cost(log2N: 14, r: 8, p: 1)
    let passphrase = Secret(text: "correct horse battery")

    func member() throws -> (StateFolder, JoinBundle) {
        let state = try StateFolder.initialise(
            at: try TestPaths.temporaryDirectory("member").appendingPathComponent(".warden").path)
        let join = ApplianceJoin(id: SecureRandom.bytes(16), issuedBy: "appliance-a", expiresAt: Date())
        return (state, try JoinBundle.export(from: state, join: join))
    }

    @Test func theSharedKeysCrossSealedAndTheNewApplianceIssuesItsOwnCertificate() throws {
        let (state, bundle) = try member()
        let sealed = try bundle.sealed(passphrase: passphrase, cost: cost)
        let text = String(decoding: sealed, as: UTF8.self)
        for file in JoinBundle.sharedFiles where file.rawValue.hasSuffix(".key") {
            let key = try Data(contentsOf: state.url(file))
            #expect(!text.contains(Data(key).base64EncodedString()) && !text.contains("PRIVATE KEY"))
        }
        let opened = try JoinBundle.open(sealed, passphrase: passphrase)
        #expect(opened.id == bundle.id)
        #expect(sameSecret(opened.files, bundle.files), "the keys came through unchanged")

        let path = try TestPaths.temporaryDirectory("joiner").appendingPathComponent(".warden").path
        let joined = try opened.install(into: path, serverNames: ["warden-b.example", "10.0.0.2"])
        for file in JoinBundle.sharedFiles {
            #expect(try Data(contentsOf: joined.url(file)) == Data(contentsOf: state.url(file)), "\(file)")
        }
        var status = stat()
        #expect(stat(joined.url(.keyEncryptionKey).path, &status) == 0 && status.st_mode & 0o077 == 0)
        let own = try Certificate(pemEncoded: String(contentsOf: joined.url(.serverCertificate), encoding: .utf8))
        let ca = try Certificate(pemEncoded: String(contentsOf: joined.url(.serverCA), encoding: .utf8))
        #expect(own.issuer == ca.subject)
        #expect(
            try own.extensions.subjectAlternativeNames?.contains(.dnsName("warden-b.example")) == true,
            "its certificate names its own addresses")
        #expect(try joined.serverCertificateSHA256() != state.serverCertificateSHA256())
        #expect(try joined.operatorSerial() != state.operatorSerial())
    }

    @Test func secureBootKeysCrossWhenTheMemberHasThem() throws {
        let (state, plain) = try member()
        #expect(JoinBundle.optionalSharedFiles.allSatisfy { plain.files[$0.rawValue] == nil })
        try SecureBootKeys(folder: state).initialise(SecureBootKeys.Request())
        let join = ApplianceJoin(id: SecureRandom.bytes(16), issuedBy: "appliance-a", expiresAt: Date())
        let bundle = try JoinBundle.export(from: state, join: join)
        let opened = try JoinBundle.open(try bundle.sealed(passphrase: passphrase, cost: cost), passphrase: passphrase)
        let path = try TestPaths.temporaryDirectory("joiner-secureboot").appendingPathComponent(".warden").path
        let joined = try opened.install(into: path, serverNames: ["warden-b.example"])
        for file in JoinBundle.optionalSharedFiles where file != .secureBootExtraDB {
            #expect(try Data(contentsOf: joined.url(file)) == Data(contentsOf: state.url(file)), "\(file)")
        }
        for file in [StateFolder.File.secureBootPKKey, .secureBootKEKKey] {
            #expect(bundle.files[file.rawValue] == nil, "\(file) stays on the member")
            #expect(!FileManager.default.fileExists(atPath: joined.url(file).path))
        }
        #expect(
            try SecureBootKeys(folder: joined).entries().map(\.sha256)
                == SecureBootKeys(folder: state).entries().map(\.sha256))
        #expect(SecureBootKeys(folder: joined).imageSigner != nil, "the joined appliance signs what it serves")
        var status = stat()
        #expect(stat(joined.url(.secureBootDBKey).path, &status) == 0 && status.st_mode & 0o077 == 0)
    }

    @Test func aWrongPassphraseADamagedOrACraftedBundleOpensNothing() throws {
        let (_, bundle) = try member()
        let sealed = try bundle.sealed(passphrase: passphrase, cost: cost)
        #expect(throws: SealedBundleError.wrongPassphrase) {
            _ = try JoinBundle.open(sealed, passphrase: Secret(text: "correct horse battery!"))
        }
        var envelope = try #require(try JSONSerialization.jsonObject(with: Data(sealed)) as? [String: Any])
        let ciphertext = try #require(Data(base64Encoded: envelope["sealed"] as? String ?? ""))
        var flipped = [UInt8](ciphertext)
        flipped[flipped.count / 2] ^= 1
        envelope["sealed"] = Data(flipped).base64EncodedString()
        #expect(throws: SealedBundleError.wrongPassphrase) {
            _ = try JoinBundle.open(
                [UInt8](try JSONSerialization.data(withJSONObject: envelope)), passphrase: passphrase)
        }
        // A weaker cost than the seal was made with is bound to it; one far outside is not even tried.
        envelope["sealed"] = ciphertext.base64EncodedString()
        envelope["log2N"] = 15
        #expect(throws: SealedBundleError.wrongPassphrase) {
            _ = try JoinBundle.open(
                [UInt8](try JSONSerialization.data(withJSONObject: envelope)), passphrase: passphrase)
        }
        envelope["log2N"] = 30
        #expect(throws: SealedBundleError.unreadable("its scrypt cost is outside the accepted range")) {
            _ = try JoinBundle.open(
                [UInt8](try JSONSerialization.data(withJSONObject: envelope)), passphrase: passphrase)
        }
        for garbage in [[], Array("{}".utf8), Array(sealed.prefix(40)), [UInt8](repeating: 0x7b, count: 2 << 20)] {
            #expect(throws: SealedBundleError.self) { _ = try JoinBundle.open(garbage, passphrase: passphrase) }
        }
        #expect(throws: SealedBundleError.passphrase("a bundle's passphrase has at least 12 characters")) {
            _ = try bundle.sealed(passphrase: Secret(text: "short"), cost: cost)
        }
    }

    @Test func aFolderWithKeysOfItsOwnIsNotOverwritten() throws {
        let (state, bundle) = try member()
        let before = try Data(contentsOf: state.url(.auditKey))
        #expect(throws: SealedBundleError.notEmpty(state.path)) {
            _ = try bundle.install(into: state.path, serverNames: ["localhost"])
        }
        #expect(try Data(contentsOf: state.url(.auditKey)) == before)
    }
}
