import Foundation

extension EnrolmentStore {
    /// The key-encryption key this store seals with (its identifier names it).
    public var keyEncryptionKey: KeyEncryptionKey { key }

    /// Re-seals every secret under `newKey` in one transaction, audited as `keys-rotated`:
    /// after it commits, only `newKey` opens them. Returns how many were re-sealed.
    public func rotateKeyEncryptionKey(to newKey: KeyEncryptionKey, actor: String, now: Date = Date())
        throws(StoreError) -> Int
    {
        try write { [key] db in
            let count = try db.reseal(from: key, to: newKey, keepingWhatOpens: false).resealed.secrets.count
            try db.appendAudit(
                actor: actor, action: "keys-rotated", subject: "keys/key-encryption",
                details:
                    "\(count) secrets re-sealed under key-encryption key \(newKey.identifier) (was \(key.identifier))",
                now: now)
            return count
        }
    }

    /// Takes `rotated`, the key another appliance rotated to, as `warden keys import` does:
    /// it must open the database's secrets (those an appliance sealed under this store's key
    /// between the rotation and now are re-sealed under it, in one transaction, audited).
    /// Returns how many were re-sealed.
    public func adoptKeyEncryptionKey(_ rotated: KeyEncryptionKey, actor: String, now: Date = Date())
        throws(StoreError) -> Int
    {
        try write { [key] db in
            let (resealed, kept, total) = try db.reseal(from: key, to: rotated, keepingWhatOpens: true)
            guard total == 0 || kept > 0 else {
                throw StoreError.invalid(
                    "key \(rotated.identifier) opens none of this database's secrets: it is not the key they were rotated to"
                )
            }
            let secrets = resealed.secrets.count
            if resealed.count > 0 {
                try db.appendAudit(
                    actor: actor, action: "keys-rotated", subject: "keys/key-encryption",
                    details:
                        "\(secrets) secrets sealed since the rotation re-sealed under key-encryption key \(rotated.identifier) (was \(key.identifier))",
                    now: now)
            }
            return secrets
        }
    }
}

extension SQLTransaction {
    /// Re-seals the secrets and the key check under `new`, opening each under `old` (a
    /// database without a check gets one under `new`); with `keepingWhatOpens`, those `new`
    /// opens already stay as they are. Returns the identities re-sealed, how many sealed
    /// values were kept as they were, and how many there were.
    fileprivate func reseal(from old: KeyEncryptionKey, to new: KeyEncryptionKey, keepingWhatOpens: Bool) throws
        -> (resealed: ResealedIdentities, kept: Int, total: Int)
    {
        let rows = try SQLRow.fetchAll(self, sql: "SELECT id, identity, sealed FROM sealedSecret ORDER BY id")
        var resealed = ResealedIdentities()
        var kept = 0
        for row in rows {
            let identity: String = row["identity"]
            let sealed = [UInt8](row["sealed"] as Data)
            if keepingWhatOpens, (try? new.open(sealed, identity: identity)) != nil {
                kept += 1
                continue
            }
            let secret = try old.open(sealed, identity: identity)
            try execute(
                sql: "UPDATE sealedSecret SET sealed = ? WHERE id = ?",
                arguments: [Data(try new.seal(secret, identity: identity)), row["id"] as Int64])
            resealed.identities.append(identity)
        }
        if !rows.contains(where: { ($0["identity"] as String) == Self.keyCheckIdentity }) {
            try writeKeyCheck(under: new)
            resealed.identities.append(Self.keyCheckIdentity)
        }
        return (resealed, kept, rows.count)
    }
}

/// The sealed values a re-sealing changed, by identity.
private struct ResealedIdentities {
    var identities: [String] = []
    var count: Int { identities.count }
    /// Those that are secrets, not the key check.
    var secrets: [String] { identities.filter { $0 != SQLTransaction.keyCheckIdentity } }
}
