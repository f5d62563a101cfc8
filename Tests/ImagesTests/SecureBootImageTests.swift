import Foundation
import ImageBuilding
import Images
@testable import Store
import Testing
import TestSupport
import WardenCrypto

/// With the rack's Secure Boot keys, every image gets a file of its own signed with the db
/// key, which machines are served: sbsigntool accepts it, `pesign -h` gives the Authenticode
/// digest the catalogue records for it, and every appliance serves the same signed bytes.
@Suite(.postgresServer) struct SecureBootImageTests {
    typealias Rig = ImageCatalogueTests.Rig

    @Test(arguments: StoreBackend.allCases) func anImageIsSignedOnceAndServedSignedByEveryAppliance(
        backend: StoreBackend
    ) throws {
        let rig = try Rig(backend: backend, secureBoot: true)
        let upload = try rig.upload()
        let unsignedAuthenticode = try UKITests.pesign(upload)
        let record = try rig.catalogue.add(name: "node", upload: upload, actor: "test")
        let signed = try #require(record.secureBootSigned)
        #expect(record.authenticodeSHA256 == unsignedAuthenticode, "the unsigned image's digest, as pesign -h gives it")
        #expect(record.servedSHA256 == signed.sha256 && signed.sha256 != record.sha256)
        let path = rig.catalogue.files.path + "/" + signed.sha256 + ".efi"
        #expect(try rig.secureBootSignatureHolds(path))
        #expect(try UKITests.pesign(path) == signed.authenticodeSHA256)
        #expect(try rig.signatureHolds(path), "the signed file has its detached signature too")
        let reference = try #require(record.bootReference(firmware: []))
        #expect(reference.unifiedKernelImage.sha256 == signed.authenticodeSHA256)

        let (_, b) = try rig.secondAppliance()
        let served = try b.files.resolve(signed.sha256 + ".efi")
        #expect(try TestPaths.bytes(URL(fileURLWithPath: served.path)) == TestPaths.bytes(URL(fileURLWithPath: path)))
        #expect(b.signForSecureBoot(actor: "test").isEmpty, "signed once, for every appliance")
        #expect(b.synchronise() == ["image node: fetched from the database"], "the unsigned one, for legacy BIOS")
        #expect(b.synchronise().isEmpty)

        try rig.catalogue.remove(name: "node", actor: "test")
        #expect(!(try rig.store.hasImageContent(sha256: Hex.decode(signed.sha256) ?? [], size: signed.size)))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A signed file that is also another image (its bytes added as an image of their own)
    /// stays while that image does: removing one image removes only the files no image is.
    @Test func aFileAnotherImageIsOutlivesTheImageItWasSignedFor() throws {
        let rig = try Rig(secureBoot: true)
        let first = try rig.catalogue.add(name: "first", upload: try rig.upload(), actor: "test")
        let signed = try #require(first.secureBootSigned)
        let signedPath = rig.catalogue.files.path + "/" + signed.sha256 + ".efi"
        let copy = rig.folder.appendingPathComponent("signed-copy.efi").path
        try FileManager.default.copyItem(atPath: signedPath, toPath: copy)
        let second = try rig.catalogue.add(name: "second", upload: copy, actor: "test")
        #expect(second.sha256 == signed.sha256)

        try rig.catalogue.remove(name: "first", actor: "test")
        #expect(try rig.store.hasImageContent(sha256: Hex.decode(signed.sha256) ?? [], size: signed.size))
        #expect(try rig.catalogue.files.resolve(signed.sha256 + ".efi").size == signed.size)
        #expect(!FileManager.default.fileExists(atPath: rig.catalogue.files.path + "/" + first.sha256 + ".efi"))

        try rig.catalogue.remove(name: "second", actor: "test")
        let secondSigned = try #require(second.secureBootSigned)
        for (file, size) in [(signed.sha256, signed.size), (secondSigned.sha256, secondSigned.size)] {
            #expect(!FileManager.default.fileExists(atPath: rig.catalogue.files.path + "/" + file + ".efi"))
            #expect(!(try rig.store.hasImageContent(sha256: Hex.decode(file) ?? [], size: size)))
        }
    }

    /// Images added before the rack had Secure Boot keys are signed at the next start, by
    /// the first appliance that starts; the others fetch its file.
    @Test(arguments: StoreBackend.allCases) func imagesAddedBeforeAreSignedAtTheNextStartOnce(backend: StoreBackend)
        throws
    {
        let plain = try Rig(backend: backend)
        let record = try plain.catalogue.add(name: "node", upload: try plain.upload(), actor: "test")
        #expect(record.secureBootSigned == nil)
        #expect(plain.catalogue.signForSecureBoot(actor: "test").isEmpty, "no keys, nothing to sign")

        let rig = try Rig(backend: backend, secureBoot: true)
        _ = try rig.catalogue.add(name: "other", upload: try rig.upload(), actor: "test")
        let before = try Rig(backend: backend, secureBoot: true)
        let earlier = try before.catalogue.add(name: "earlier", upload: try before.upload(), actor: "test")
        _ = earlier
        // An image of an earlier Warden: recorded without a signed file.
        _ = try rig.store.write { db in
            try db.execute(
                sql: "UPDATE image SET signedSHA256 = NULL, signedAuthenticodeSHA256 = NULL, signedSize = NULL")
        }
        let (_, b) = try rig.secondAppliance()
        let lines = rig.catalogue.signForSecureBoot(actor: "system (Secure Boot)")
        #expect(lines.count == 1 && lines[0].hasPrefix("image other: signed for Secure Boot"), "\(lines)")
        #expect(b.signForSecureBoot(actor: "system (Secure Boot)").isEmpty, "once, not once per appliance")
        let signed = try #require(try rig.store.image(named: "other").secureBootSigned)
        #expect(try b.files.resolve(signed.sha256 + ".efi").size == signed.size)
        #expect(
            try rig.store.auditRecords(subjectPrefix: "image/other").map(\.action) == ["image-added", "image-signed"])
    }

    /// A signature that cannot be made (here: the db key is gone) adds nothing.
    @Test func anImageThatDoesNotSignIsNotAdded() throws {
        let rig = try Rig(secureBoot: true)
        let broken = try ImageCatalogue(
            folder: rig.folder.appendingPathComponent("images").path, store: rig.store, signer: rig.signer,
            secureBootSigner: AuthenticodeSigner(
                certificatePath: rig.folder.appendingPathComponent("db.pem").path,
                keyPath: rig.folder.appendingPathComponent("missing.key").path))
        #expect(throws: ImageError.self) { _ = try broken.add(name: "node", upload: try rig.upload(), actor: "test") }
        #expect(try rig.store.images().isEmpty)
        #expect(try rig.store.auditRecords(subjectPrefix: "image/").isEmpty)
    }
}
