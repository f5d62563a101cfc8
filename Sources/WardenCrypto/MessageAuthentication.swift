/// HMAC (RFC 2104) over ``Hasher``: the inner and outer hashes of the key's pads. libcrypto's
/// one-shot `HMAC()` looks its MAC and digest up by name on every call, which cost more
/// than the hashing itself for the short messages Warden authenticates (nonces, tickets,
/// KDFa's blocks) several times per attestation.
public enum HMAC {
    /// HMAC-`digest` of `data` under `key`.
    public static func authenticate(_ data: [UInt8], key: [UInt8], digest: DigestAlgorithm) -> [UInt8] {
        var hasher = Hasher(digest)
        var block = key.count > digest.blockSize ? digest.hash(key) : key
        block += [UInt8](repeating: 0, count: digest.blockSize - block.count)
        hasher.update(block.map { $0 ^ 0x36 })
        hasher.update(data)
        let inner = hasher.finalize()
        hasher.update(block.map { $0 ^ 0x5c })
        hasher.update(inner)
        return hasher.finalize()
    }
}
