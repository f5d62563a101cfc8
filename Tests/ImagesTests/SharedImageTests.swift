import Boot
import Foundation
import Images
@testable import Store
import Testing
import TestSupport
import WardenCrypto

/// Images shared between appliances through their database: added through one, served by
/// another after it fetched and checked the bytes, gone from both when removed.
@Suite(.postgresServer) struct SharedImageTests {
    typealias Rig = ImageCatalogueTests.Rig

    @Test(arguments: StoreBackend.allCases) func anImageAddedThroughOneApplianceBootsFromTheOther(
        backend: StoreBackend
    ) throws {
        let rig = try Rig(backend: backend)
        let upload = try rig.upload()
        let bytes = try TestPaths.bytes(URL(fileURLWithPath: upload))
        let record = try rig.catalogue.add(name: "node", upload: upload, actor: "test")
        let (_, b) = try rig.secondAppliance()

        let served = try b.files.resolve(record.sha256 + ".efi")
        #expect(try TestPaths.bytes(URL(fileURLWithPath: served.path)) == bytes)
        #expect(served.path.hasPrefix(b.files.path + "/"))
        #expect(try rig.signatureHolds(served.path), "signed on B with the image key both hold")
        #expect(try b.files.resolve(record.sha256 + ".linux").size > 0)
        #expect(try b.files.resolve(record.sha256 + ".initrd.sig").size > 0)
        #expect(b.synchronise().isEmpty, "nothing left to fetch")

        try rig.catalogue.remove(name: "node", actor: "test")
        #expect(!(try rig.store.hasImageContent(sha256: Hex.decode(record.sha256) ?? [], size: record.size)))
        #expect(b.synchronise(now: Date()).isEmpty, "a recent file is kept a while")
        #expect(
            b.synchronise(now: Date().addingTimeInterval(601)) == [
                "image file \(record.sha256): removed, no image is this file"
            ])
        #expect(throws: BootFileRoot.Refusal.notFound(record.sha256 + ".efi")) {
            _ = try b.files.resolve(record.sha256 + ".efi")
        }
    }

    @Test(arguments: StoreBackend.allCases) func bytesThatDoNotMatchTheirDigestAreNotServed(backend: StoreBackend)
        throws
    {
        let rig = try Rig(backend: backend)
        let record = try rig.catalogue.add(name: "node", upload: try rig.upload(), actor: "test")
        _ = try rig.store.write { db in
            try db.execute(
                sql: "UPDATE imagePart SET bytes = ? WHERE sha256 = ? AND part = 0",
                arguments: [Data("MZ not this image".utf8), Data(Hex.decode(record.sha256) ?? [])])
        }
        let (_, b) = try rig.secondAppliance()
        #expect(throws: BootFileRoot.Refusal.notFound(record.sha256 + ".efi")) {
            _ = try b.files.resolve(record.sha256 + ".efi")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: b.files.path).isEmpty, "nothing installed")
        #expect(
            b.synchronise().contains {
                $0.hasPrefix("image node: not fetched:") && $0.contains("do not match its SHA-256")
                    || $0.contains("lacks part")
            })
    }

    /// An image a Warden before this one added has its file only: the next start stores its
    /// bytes, and from then on other appliances serve it.
    @Test(arguments: StoreBackend.allCases) func anImageOfAnEarlierWardenIsStoredAtTheNextStart(
        backend: StoreBackend
    ) throws {
        let rig = try Rig(backend: backend)
        let record = try rig.catalogue.add(name: "node", upload: try rig.upload(), actor: "test")
        _ = try rig.store.write { db in try db.execute(sql: "DELETE FROM imagePart") }
        let digest = Hex.decode(record.sha256) ?? []
        #expect(!(try rig.store.hasImageContent(sha256: digest, size: record.size)))
        #expect(
            rig.catalogue.completeRecords(actor: "test").map { $0.hasPrefix("image node: completed") } == [true])
        #expect(try rig.store.hasImageContent(sha256: digest, size: record.size))
        #expect(rig.catalogue.completeRecords(actor: "test").isEmpty, "once")
        let (_, b) = try rig.secondAppliance()
        #expect(try b.files.resolve(record.sha256 + ".efi").size == record.size)
    }
}
