import Foundation
import Synchronization
import WardenCrypto

/// The key that seals secrets at rest, kept in a 0600 file of the state folder, never in
/// the database: the database file alone reveals no secret.
///
/// `warden keys rotate` and `warden keys import` replace the file while `warden serve` runs:
/// a sealed value that does not open under the key in memory is tried once more under the
/// key the file holds now (or `FILE.next`, a rotation that committed before its file was
/// moved in place, which is then moved), so a running appliance follows a rotation without
/// a restart.
public final class KeyEncryptionKey: Sendable {
    private let current: Mutex<HeldKey>
    /// The file it was read from; nil for a key held in memory only.
    let path: String?

    init(bytes: [UInt8], path: String? = nil) {
        current = Mutex(HeldKey(bytes: bytes))
        self.path = path
    }

    /// A key held in memory (from a key bundle); nil unless `secret` is a key's size.
    public convenience init?(secret: Secret) {
        guard secret.count == AESGCM.keySize else { return nil }
        self.init(bytes: secret.revealedBytes)
    }

    /// The key itself, to seal into a key bundle.
    public var secret: Secret { Secret(bytes: bytes) }

    /// A new random key, not yet in any file.
    public static func generate() -> KeyEncryptionKey { KeyEncryptionKey(bytes: SecureRandom.bytes(AESGCM.keySize)) }

    /// Reads the key at `path`, or creates it (0600, 32 random bytes) when absent. Refuses a
    /// key file others can read, or one of the wrong size.
    public static func loadOrCreate(at path: String) throws(StoreError) -> KeyEncryptionKey {
        if !FileManager.default.fileExists(atPath: path) {
            let key = generate()
            try key.write(to: path)
            return KeyEncryptionKey(bytes: key.bytes, path: path)
        }
        return KeyEncryptionKey(bytes: try read(path), path: path)
    }

    /// The key's bytes now.
    var bytes: [UInt8] { current.withLock { $0.bytes } }

    /// A name for the key that reveals nothing of it (for audit records and messages).
    public var identifier: String { Hex.encode(Array(derivedKey(for: "key identifier").prefix(8))) }

    /// Writes the key to a new file at `path` (0600, synced).
    public func write(to path: String) throws(StoreError) {
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw .keyFile(path, "cannot create (\(String(cString: strerror(errno))))") }
        let key = bytes
        let written = key.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == key.count, synced else { throw .keyFile(path, "cannot write") }
    }

    private static func read(_ path: String) throws(StoreError) -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .keyFile(path, "cannot stat") }
        guard status.st_mode & 0o077 == 0 else {
            throw .keyFile(
                path, "readable by others (mode \(String(status.st_mode & 0o777, radix: 8))); it must be 0600")
        }
        guard let data = FileManager.default.contents(atPath: path), data.count == AESGCM.keySize else {
            throw .keyFile(path, "must hold exactly \(AESGCM.keySize) bytes")
        }
        return [UInt8](data)
    }

    /// Seals `secret` bound to `identity` (the record it belongs to), so a sealed value moved
    /// to another record does not open; under the key in memory. The store seals only
    /// after the database's key check opened under it (``SQLTransaction/seal(_:identity:under:)``).
    func seal(_ secret: [UInt8], identity: String) throws(StoreError) -> [UInt8] {
        do { return try AESGCM.seal(secret, key: bytes, associatedData: Array(identity.utf8)) } catch {
            throw .sealing(identity)
        }
    }

    /// Takes the key the file holds now, when there is a file.
    func followFile() {
        if let path, let fresh = try? Self.read(path) { current.withLock { $0 = HeldKey(bytes: fresh) } }
    }

    /// A key for `purpose` derived from this one (HMAC-SHA256 of the purpose), for what must
    /// be authenticated but never secret: anonymous requests can make Warden use it as often
    /// as they like, which a key sealing secrets under random GCM nonces must not allow.
    /// Each purpose's key is derived once for the key held (every attestation asks for the
    /// nonces' twice), and again after the key changed.
    func derivedKey(for purpose: String) -> [UInt8] {
        current.withLock { held in
            if let derived = held.derived[purpose] { return derived }
            let derived = HMAC.authenticate(
                Array("warden derived key: \(purpose)".utf8), key: held.bytes, digest: .sha256)
            held.derived[purpose] = derived
            return derived
        }
    }

    /// Opens what ``seal(_:identity:)`` made for the same identity, under the key in memory
    /// or, when the file changed since, under the file's.
    func open(_ sealed: [UInt8], identity: String) throws(StoreError) -> [UInt8] {
        let held = bytes
        if let opened = try? AESGCM.open(sealed, key: held, associatedData: Array(identity.utf8)) { return opened }
        guard let path else { throw .sealing(identity) }
        for candidate in [path, path + ".next"] {
            guard let fresh = try? Self.read(candidate), fresh != held,
                let opened = try? AESGCM.open(sealed, key: fresh, associatedData: Array(identity.utf8))
            else { continue }
            if candidate != path { rename(candidate, path) }
            current.withLock { $0 = HeldKey(bytes: fresh) }
            return opened
        }
        throw .sealing(identity)
    }
}

/// The key held in memory, with the keys derived from it so far (by purpose).
private struct HeldKey {
    let bytes: [UInt8]
    var derived: [String: [UInt8]] = [:]
}
