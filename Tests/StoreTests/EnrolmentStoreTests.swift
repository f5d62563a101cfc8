import Foundation
import Store
import Testing
import TestSupport
import WardenCrypto

@Suite struct EnrolmentStoreTests {
    func freshStore() throws -> (EnrolmentStore, URL) {
        let folder = try TestPaths.temporaryDirectory("store")
        let key = try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path)
        return (try EnrolmentStore(path: folder.appendingPathComponent("warden.sqlite").path, key: key), folder)
    }

    @Test func migrationsAreNamedAndApplied() throws {
        let (store, _) = try freshStore()
        #expect(try store.appliedMigrations() == ["v1-machines-policies-nonces-secrets"])
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func enrolmentMakesASealedDiskKey() throws {
        let (store, _) = try freshStore()
        let id = try store.enroll(name: "node-1", ekPublic: [1, 2, 3], ekName: [0, 0x0b, 9], macs: ["52:54:00:AA:BB:CC"])
        let key = try store.diskKey(machineID: id)
        #expect(key.count == 32)
        #expect(sameSecret(try store.diskKey(machineID: id), key), "the disk key changed")
        #expect(throws: StoreError.duplicate("machine node-1")) { try store.enroll(name: "node-1", ekPublic: [4], ekName: nil) }
    }

    /// The database files alone reveal no disk key.
    @Test func secretsAreSealedAtRest() throws {
        let (store, folder) = try freshStore()
        var keys: [[UInt8]] = []
        for index in 0..<5 {
            keys.append(try store.diskKey(machineID: try store.enroll(name: "node-\(index)", ekPublic: [UInt8(index)], ekName: nil)))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("warden.sqlite") }
        #expect(files.contains("warden.sqlite"))
        for file in files {
            let bytes = try TestPaths.bytes(folder.appendingPathComponent(file))
            for key in keys {
                for window in [key, Array(key.prefix(8)), Array(key.suffix(8))] {
                    #expect(!contains(bytes, window), "\(file) holds disk key bytes")
                }
            }
        }
    }

    @Test func anotherKeyEncryptionKeyOpensNothing() throws {
        let (store, folder) = try freshStore()
        let id = try store.enroll(name: "node", ekPublic: [1], ekName: nil)
        let otherKey = try KeyEncryptionKey.loadOrCreate(at: try TestPaths.temporaryDirectory("kek").appendingPathComponent("kek.key").path)
        let reopened = try EnrolmentStore(path: folder.appendingPathComponent("warden.sqlite").path, key: otherKey)
        #expect(throws: StoreError.self) { try reopened.diskKey(machineID: id) }
        _ = store
    }

    @Test func keyFileMustBePrivateAndWhole() throws {
        let path = try TestPaths.temporaryDirectory("kek").appendingPathComponent("kek.key").path
        _ = try KeyEncryptionKey.loadOrCreate(at: path)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        _ = try KeyEncryptionKey.loadOrCreate(at: path)
        chmod(path, 0o644)
        #expect(throws: StoreError.self) { try KeyEncryptionKey.loadOrCreate(at: path) }
        chmod(path, 0o600)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        #expect(throws: StoreError.self) { try KeyEncryptionKey.loadOrCreate(at: path) }
    }

    @Test func noncesAreSingleUseBoundAndShortLived() throws {
        let (store, _) = try freshStore()
        let node = try store.enroll(name: "node", ekPublic: [1], ekName: nil)
        let other = try store.enroll(name: "other", ekPublic: [2], ekName: nil)
        let now = Date()
        let nonce = try store.issueNonce(machineID: node, now: now)
        #expect(nonce.count == 32)
        #expect(throws: StoreError.nonce("issued to another machine")) { try store.consumeNonce(nonce, machineID: other, now: now) }
        try store.consumeNonce(nonce, machineID: node, now: now)
        #expect(throws: StoreError.nonce("already used")) { try store.consumeNonce(nonce, machineID: node, now: now) }
        let late = try store.issueNonce(machineID: node, now: now)
        #expect(throws: StoreError.nonce("expired")) {
            try store.consumeNonce(late, machineID: node, now: now.addingTimeInterval(EnrolmentStore.nonceLifetime + 1))
        }
        #expect(throws: StoreError.nonce("unknown")) { try store.consumeNonce(SecureRandom.bytes(32), machineID: node, now: now) }
        #expect(throws: StoreError.self) { _ = try store.issueNonce(machineID: 999, now: now) }  // foreign key
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
