import COpenSSL

/// An incremental hash over libcrypto. Reusable: `finalize()` returns the digest and
/// resets the hasher for the same algorithm, so hot loops allocate no new contexts.
public struct Hasher: ~Copyable {
    /// The algorithm this hasher computes.
    public let algorithm: DigestAlgorithm
    private let context: OpaquePointer

    /// A hasher ready to take input.
    public init(_ algorithm: DigestAlgorithm) {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.algorithm = algorithm
        self.context = context
        Self.start(context, algorithm)
    }

    deinit { EVP_MD_CTX_free(context) }

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
        guard EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1 else {
            fatalError("EVP_DigestUpdate failed: \(OpenSSLError("hash"))")
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
        var length: UInt32 = 0
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard EVP_DigestFinal_ex(context, out, &length) == 1, Int(length) == output.count else {
            fatalError("EVP_DigestFinal_ex failed: \(OpenSSLError("hash"))")
        }
        Self.start(context, algorithm)
    }

    private static func start(_ context: OpaquePointer, _ algorithm: DigestAlgorithm) {
        guard EVP_DigestInit_ex2(context, algorithm.method, nil) == 1 else {
            fatalError("EVP_DigestInit_ex2 failed: \(OpenSSLError("hash"))")
        }
    }
}
