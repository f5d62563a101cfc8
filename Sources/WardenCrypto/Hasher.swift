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
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let context = self.context
        let fed: Void? = bytes.withContiguousStorageIfAvailable { Self.feed(context, UnsafeRawBufferPointer($0)) }
        if fed == nil { Array(bytes).withUnsafeBytes { Self.feed(context, $0) } }
    }

    private static func feed(_ context: OpaquePointer, _ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        guard EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1 else {
            fatalError("EVP_DigestUpdate failed: \(OpenSSLError("hash"))")
        }
    }

    /// The digest of everything fed since the last reset; the hasher starts over afterwards.
    public mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: algorithm.digestSize)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1, Int(length) == digest.count else {
            fatalError("EVP_DigestFinal_ex failed: \(OpenSSLError("hash"))")
        }
        Self.start(context, algorithm)
        return digest
    }

    private static func start(_ context: OpaquePointer, _ algorithm: DigestAlgorithm) {
        guard EVP_DigestInit_ex2(context, algorithm.method, nil) == 1 else {
            fatalError("EVP_DigestInit_ex2 failed: \(OpenSSLError("hash"))")
        }
    }
}
