import Foundation
import WardenCrypto

extension SQLTransaction {
    /// The identity of the key check: 32 random bytes sealed under the key-encryption key the
    /// database's secrets are sealed under now, kept among them (`sealedSecret`) so that a
    /// rotation re-seals it with them, in the same transaction.
    static let keyCheckIdentity = "keys/key-encryption/check"

    /// Seals `secret` for `identity` under the database's current key-encryption key: the one,
    /// of the key in memory, the key file's and `FILE.next` (a rotation that committed before
    /// its file was moved), that opens the key check. An appliance holding none of them is
    /// refused rather than seal under a key the database has left: one an appliance removed
    /// since may hold.
    func seal(_ secret: [UInt8], identity: String, under key: KeyEncryptionKey) throws -> [UInt8] {
        try holdCurrentKey(key)
        return try key.seal(secret, identity: identity)
    }

    /// Makes `key` hold the database's current key-encryption key, or throws
    /// ``StoreError/keyNotCurrent(_:)``. A database without a check yet (written before
    /// there was one) gets it here: under the key that opens a secret it holds, or, holding
    /// none, under the key file's.
    private func holdCurrentKey(_ key: KeyEncryptionKey) throws {
        let checkIdentity = Self.keyCheckIdentity
        if let check = try Data.fetchOne(
            self, sql: "SELECT sealed FROM sealedSecret WHERE identity = ?", arguments: [checkIdentity])
        {
            guard (try? key.open([UInt8](check), identity: checkIdentity)) != nil else {
                throw StoreError.keyNotCurrent(key.identifier)
            }
            return
        }
        if let sealed = try SQLRow.fetchOne(self, sql: "SELECT identity, sealed FROM sealedSecret ORDER BY id LIMIT 1")
        {
            guard (try? key.open([UInt8](sealed["sealed"] as Data), identity: sealed["identity"])) != nil else {
                throw StoreError.keyNotCurrent(key.identifier)
            }
        } else {
            key.followFile()
        }
        try writeKeyCheck(under: key)
    }

    /// Writes the key check under `key`, in place of any.
    func writeKeyCheck(under key: KeyEncryptionKey) throws {
        let checkIdentity = Self.keyCheckIdentity
        try execute(sql: "DELETE FROM sealedSecret WHERE identity = ?", arguments: [checkIdentity])
        try execute(
            sql: "INSERT INTO sealedSecret (identity, sealed) VALUES (?, ?)",
            arguments: [checkIdentity, Data(try key.seal(SecureRandom.bytes(32), identity: checkIdentity))])
    }
}
