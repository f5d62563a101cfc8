import COpenSSL

/// An incremental hash over libcrypto. Reusable: `finalize()` returns the digest and
/// resets the hasher for the same algorithm, so hot loops allocate nothing.
///
/// It runs libcrypto's SHA functions on a context of its own (`warden_digest_state`), not an
/// EVP digest context: an event log's replay is hundreds of short hashes, and OpenSSL 3.0's
/// EVP re-creates its provider context at each restart.
public struct Hasher: ~Copyable {
    /// The algorithm this hasher computes.
    public let algorithm: DigestAlgorithm
    private let state: UnsafeMutablePointer<warden_digest_state>

    /// A hasher ready to take input.
    public init(_ algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        state = .allocate(capacity: 1)
        state.initialize(to: warden_digest_state())
        Self.start(state, algorithm)
    }

    /// Clears what the hash state holds of its input before the memory is freed.
    deinit {
        OPENSSL_cleanse(state, MemoryLayout<warden_digest_state>.size)
        state.deallocate()
    }

    /// Feeds `bytes` to the hash.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds `bytes` to the hash.
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds the bytes of `buffer` to the hash.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        guard warden_digest_update(state, algorithm.lowLevelID, buffer.baseAddress, buffer.count) == 1 else {
            fatalError("\(algorithm.rawValue) update failed")
        }
    }

    /// The digest of everything fed since the last reset; the hasher starts over afterwards.
    public mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: algorithm.digestSize)
        digest.withUnsafeMutableBytes { finalize(into: $0) }
        return digest
    }

    /// Writes the digest into `output` (exactly ``DigestAlgorithm/digestSize`` bytes, which
    /// may overlap input already fed) and starts over: no allocation in hot loops.
    public mutating func finalize(into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count == algorithm.digestSize, "digest buffer of the wrong size")
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard warden_digest_final(state, algorithm.lowLevelID, out) == 1 else {
            fatalError("\(algorithm.rawValue) finalisation failed")
        }
        Self.start(state, algorithm)
    }

    private static func start(_ state: UnsafeMutablePointer<warden_digest_state>, _ algorithm: DigestAlgorithm) {
        guard warden_digest_init(state, algorithm.lowLevelID) == 1 else {
            fatalError("\(algorithm.rawValue) initialisation failed")
        }
    }
}

extension DigestAlgorithm {
    /// The algorithm's number in `warden_digest_state`'s functions.
    fileprivate var lowLevelID: Int32 {
        switch self {
        case .sha1: WARDEN_DIGEST_SHA1
        case .sha256: WARDEN_DIGEST_SHA256
        case .sha384: WARDEN_DIGEST_SHA384
        case .sha512: WARDEN_DIGEST_SHA512
        }
    }
}
