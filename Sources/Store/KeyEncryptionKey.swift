import Foundation
import WardenCrypto

/// The key that seals secrets at rest, kept in a 0600 file of the state folder, never in
/// the database: the database file alone reveals no secret.
public struct KeyEncryptionKey: Sendable {
    let bytes: [UInt8]

    /// Reads the key at `path`, or creates it (0600, 32 random bytes) when absent. Refuses a
    /// key file others can read, or one of the wrong size.
    public static func loadOrCreate(at path: String) throws(StoreError) -> KeyEncryptionKey {
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else { throw .keyFile(path, "cannot create (\(String(cString: strerror(errno))))") }
            let key = SecureRandom.bytes(AESGCM.keySize)
            let written = key.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            guard written == key.count, synced else { throw .keyFile(path, "cannot write") }
            return KeyEncryptionKey(bytes: key)
        }
        var status = stat()
        guard stat(path, &status) == 0 else { throw .keyFile(path, "cannot stat") }
        guard status.st_mode & 0o077 == 0 else {
            throw .keyFile(
                path, "readable by others (mode \(String(status.st_mode & 0o777, radix: 8))); it must be 0600")
        }
        guard let data = manager.contents(atPath: path), data.count == AESGCM.keySize else {
            throw .keyFile(path, "must hold exactly \(AESGCM.keySize) bytes")
        }
        return KeyEncryptionKey(bytes: [UInt8](data))
    }

    /// Seals `secret` bound to `identity` (the record it belongs to), so a sealed value moved
    /// to another record does not open.
    func seal(_ secret: [UInt8], identity: String) throws(StoreError) -> [UInt8] {
        do { return try AESGCM.seal(secret, key: bytes, associatedData: Array(identity.utf8)) } catch {
            throw .sealing(identity)
        }
    }

    /// A key for `purpose` derived from this one (HMAC-SHA256 of the purpose), for what must
    /// be authenticated but never secret: anonymous requests can make Warden use it as often
    /// as they like, which a key sealing secrets under random GCM nonces must not allow.
    func derivedKey(for purpose: String) -> [UInt8] {
        HMAC.authenticate(Array("warden derived key: \(purpose)".utf8), key: bytes, digest: .sha256)
    }

    /// Opens what ``seal(_:identity:)`` made for the same identity.
    func open(_ sealed: [UInt8], identity: String) throws(StoreError) -> [UInt8] {
        do { return try AESGCM.open(sealed, key: bytes, associatedData: Array(identity.utf8)) } catch {
            throw .sealing(identity)
        }
    }
}
