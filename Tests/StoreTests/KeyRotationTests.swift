import Foundation
@testable import Store
import Testing
import TestSupport
import WardenAPI
import WardenCrypto

/// `warden keys rotate` re-seals every secret under a new key in one transaction; a store
/// that still holds the old key in memory follows the file, even one left as `.next`.
@Suite(.postgresServer) struct KeyRotationTests {
    @Test(arguments: StoreBackend.allCases) func everySecretIsResealedAndARunningStoreFollowsTheFile(
        backend: StoreBackend
    ) throws {
        let (store, location, folder) = try backend.freshStore()
        let path = folder.appendingPathComponent("kek.key").path
        let machine = try store.enroll(
            MachineEnrolment(name: "node-1", ekPublic: [1], ekName: [0, 0x0b, 1]), actor: "test")
        let diskKey = try store.releaseSecrets(machineID: machine).diskKey
        let old = try #require(KeyEncryptionKey(secret: store.keyEncryptionKey.secret))
        // Another appliance's store on the same key file, opened before the rotation.
        let running = try EnrolmentStore(location: location, key: try KeyEncryptionKey.loadOrCreate(at: path))
        // Derived once and kept (the last line checks that a new key derives anew).
        #expect(running.keyEncryptionKey.identifier == old.identifier)

        // As `keys rotate` does: the new key beside the old file, the rotation, and (here not
        // yet) the move: a crash between the commit and the move.
        let fresh = KeyEncryptionKey.generate()
        try fresh.write(to: path + ".next")
        #expect(try store.rotateKeyEncryptionKey(to: fresh, actor: "test") == 1)
        let records = try store.auditRecords(subjectPrefix: "keys/")
        #expect(records.map(\.action) == ["keys-rotated"], "so far")
        #expect(
            records.first?.details
                == "1 secrets re-sealed under key-encryption key \(fresh.identifier) (was \(old.identifier))")
        let leaksTheKey = records[0].details.contains(Hex.encode(fresh.secret.revealedBytes))
        #expect(!leaksTheKey, "the audit record names the key, never holds it")

        // The same store seals between the commit and the move: under the new key, which
        // opens the database's key check (from `.next`), never under the old one it held.
        let late = try store.enroll(
            MachineEnrolment(name: "node-2", ekPublic: [2], ekName: [0, 0x0b, 2]), actor: "test")
        let holder = try EnrolmentStore(location: location, key: fresh)
        for id in [machine, late] { _ = try holder.releaseSecrets(machineID: id) }

        // An appliance that has not taken the new key yet is refused rather than seal under
        // the old one (which an appliance removed since may hold); its import takes the new
        // key, and refuses a key that opens nothing.
        let lagging = try EnrolmentStore(location: location, key: old)
        #expect(throws: StoreError.keyNotCurrent(old.identifier)) {
            _ = try lagging.enroll(
                MachineEnrolment(name: "node-3", ekPublic: [3], ekName: [0, 0x0b, 3]), actor: "test")
        }
        #expect(throws: StoreError.self) { _ = try lagging.adoptKeyEncryptionKey(.generate(), actor: "test") }
        #expect(try lagging.adoptKeyEncryptionKey(fresh, actor: "test") == 0)
        #expect(throws: StoreError.self) { _ = try lagging.releaseSecrets(machineID: machine) }

        // The store opened before with the old key opens the secret under the file's new key
        // (the seal above moved `.next` in place, as the rotation would have).
        #expect(sameSecret(try running.releaseSecrets(machineID: machine).diskKey, diskKey))
        #expect(!FileManager.default.fileExists(atPath: path + ".next"))
        #expect(sameSecret(try TestPaths.bytes(URL(fileURLWithPath: path)), fresh.secret.revealedBytes))
        #expect(running.keyEncryptionKey.identifier == fresh.identifier)
    }

    /// A database written before the key check gets one from the first seal, under the key
    /// that opens a secret it holds (a key that opens none is refused), or from a rotation,
    /// under the new key.
    @Test(arguments: StoreBackend.allCases) func aDatabaseWithoutAKeyCheckGetsOneUnderItsKey(backend: StoreBackend)
        throws
    {
        let (store, location, _) = try backend.freshStore()
        _ = try store.enroll(MachineEnrolment(name: "node-1", ekPublic: [1], ekName: [0, 0x0b, 1]), actor: "test")
        let forgetCheck = {
            _ = try store.write { db in
                try db.execute(
                    sql: "DELETE FROM sealedSecret WHERE identity = ?", arguments: [SQLTransaction.keyCheckIdentity])
            }
        }
        try forgetCheck()
        let stranger = KeyEncryptionKey.generate()
        let strangers = try EnrolmentStore(location: location, key: stranger)
        #expect(throws: StoreError.keyNotCurrent(stranger.identifier)) {
            _ = try strangers.enroll(
                MachineEnrolment(name: "node-2", ekPublic: [2], ekName: [0, 0x0b, 2]), actor: "test")
        }
        _ = try store.enroll(MachineEnrolment(name: "node-3", ekPublic: [3], ekName: [0, 0x0b, 3]), actor: "test")
        #expect(throws: StoreError.keyNotCurrent(stranger.identifier)) {
            _ = try strangers.enroll(
                MachineEnrolment(name: "node-4", ekPublic: [4], ekName: [0, 0x0b, 4]), actor: "test")
        }

        try forgetCheck()
        let fresh = KeyEncryptionKey.generate()
        #expect(try store.rotateKeyEncryptionKey(to: fresh, actor: "test") == 2)
        let holder = try EnrolmentStore(location: location, key: fresh)
        _ = try holder.enroll(MachineEnrolment(name: "node-5", ekPublic: [5], ekName: [0, 0x0b, 5]), actor: "test")
        #expect(throws: StoreError.keyNotCurrent(stranger.identifier)) {
            _ = try strangers.enroll(
                MachineEnrolment(name: "node-6", ekPublic: [6], ekName: [0, 0x0b, 6]), actor: "test")
        }
    }
}
