import Foundation
import WardenCrypto

/// Image bytes in the database, in parts of ``EnrolmentStore/imagePartSize`` keyed by the
/// image's SHA-256: an image added through one appliance is in the database every
/// appliance shares (and its standby), and each appliance fetches it into its own image
/// folder, where it is checked against the same digest before it is served.
extension EnrolmentStore {
    /// The size of every part but the last.
    public static let imagePartSize = 1 << 20

    /// How long parts no image claims are kept: an upload stores every part and then the
    /// image's record within seconds, so parts unclaimed a day later are of one that crashed.
    public static let orphanImagePartLifetime: TimeInterval = 24 * 3600

    /// The parts an image of `size` bytes is stored in.
    static func imageParts(size: Int) -> Int { (size + imagePartSize - 1) / imagePartSize }

    /// Stores `bytes`, whose SHA-256 the caller checked is `sha256`, each part its own short
    /// write (so that a large upload never holds the writer every attestation needs); a part
    /// stored before is overwritten, so that checked bytes always replace what is there. The
    /// parts are no image until ``addImage(_:actor:now:)`` records one with this digest; those
    /// no image claims within ``orphanImagePartLifetime`` are swept (``expireUnclaimed(now:)``).
    public func storeImageContent(sha256: [UInt8], bytes: [UInt8], now: Date = Date()) throws(StoreError) {
        for (part, start) in stride(from: 0, to: bytes.count, by: Self.imagePartSize).enumerated() {
            let piece = Data(bytes[start..<min(start + Self.imagePartSize, bytes.count)])
            _ = try write { db in
                try db.execute(
                    sql: """
                        INSERT INTO imagePart (sha256, part, bytes, storedAt) VALUES (?, ?, ?, ?)
                        ON CONFLICT (sha256, part) DO UPDATE SET bytes = excluded.bytes, storedAt = excluded.storedAt
                        """,
                    arguments: [Data(sha256), part, piece, now])
            }
        }
    }

    /// Whether every part of the `size` bytes of SHA-256 `sha256` is stored.
    public func hasImageContent(sha256: [UInt8], size: Int) throws(StoreError) -> Bool {
        try read { db in try db.hasImageContent(sha256: sha256, size: size) }
    }

    /// Writes the stored content of SHA-256 `sha256` to a new file at `path`, one part (one
    /// query) at a time; false when a part is missing (the file is then removed). The
    /// caller checks the file's digest.
    public func readImageContent(sha256: [UInt8], size: Int, into path: String) throws(StoreError) -> Bool {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw .invalid("\(path) cannot be created") }
        var complete = false
        defer {
            try? handle.close()
            if !complete { try? FileManager.default.removeItem(atPath: path) }
        }
        for part in 0..<Self.imageParts(size: size) {
            let bytes = try read { db in
                try Data.fetchOne(
                    db, sql: "SELECT bytes FROM imagePart WHERE sha256 = ? AND part = ?",
                    arguments: [Data(sha256), part])
            }
            guard let bytes else { return false }
            do { try handle.write(contentsOf: bytes) } catch { throw .invalid("\(path) cannot be written: \(error)") }
        }
        complete = true
        return true
    }
}

extension SQLTransaction {
    /// Whether every part of the `size` bytes of SHA-256 `sha256` is stored, in this transaction.
    func hasImageContent(sha256: [UInt8], size: Int) throws -> Bool {
        let row = try SQLRow.fetchOne(
            self,
            sql: """
                SELECT COUNT(*) AS parts, CAST(COALESCE(SUM(length(bytes)), 0) AS BIGINT) AS bytes
                FROM imagePart WHERE sha256 = ?
                """,
            arguments: [Data(sha256)])
        return row.map {
            ($0["parts"] as Int64) == EnrolmentStore.imageParts(size: size) && ($0["bytes"] as Int64) == size
        }
            ?? false
    }
}
