import COpenSSL

/// A hash function from libcrypto.
public enum DigestAlgorithm: String, Sendable, CaseIterable, Codable {
    case sha1
    case sha256
    case sha384
    case sha512

    /// Size of a digest in bytes.
    public var digestSize: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    /// Size of the blocks the hash function takes in, in bytes (what HMAC pads its key to).
    public var blockSize: Int {
        switch self {
        case .sha1, .sha256: 64
        case .sha384, .sha512: 128
        }
    }

    /// The digest of `bytes`.
    public func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The digest of `bytes`.
    public func hash(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The digest of the bytes in `buffer`.
    public func hash(_ buffer: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = Hasher(self)
        hasher.update(buffer)
        return hasher.finalize()
    }

    /// The EVP_MD that signatures and OAEP name, fetched once: fetching avoids a provider
    /// look-up on every operation.
    var method: OpaquePointer {
        switch self {
        case .sha1: FetchedDigests.shared.sha1
        case .sha256: FetchedDigests.shared.sha256
        case .sha384: FetchedDigests.shared.sha384
        case .sha512: FetchedDigests.shared.sha512
        }
    }

    /// The name OpenSSL's signature APIs expect.
    var openSSLName: String {
        switch self {
        case .sha1: "SHA1"
        case .sha256: "SHA256"
        case .sha384: "SHA384"
        case .sha512: "SHA512"
        }
    }
}

/// EVP_MD methods fetched at first use and kept for the life of the process.
private final class FetchedDigests: @unchecked Sendable {
    // Immutable after init; EVP_MD objects are safe to share between threads.
    static let shared = FetchedDigests()
    let sha1: OpaquePointer
    let sha256: OpaquePointer
    let sha384: OpaquePointer
    let sha512: OpaquePointer

    private init() {
        func fetch(_ name: String) -> OpaquePointer {
            guard let md = EVP_MD_fetch(nil, name, nil) else {
                fatalError("libcrypto has no \(name): \(OpenSSLError("fetch \(name)"))")
            }
            return md
        }
        sha1 = fetch("SHA1")
        sha256 = fetch("SHA256")
        sha384 = fetch("SHA384")
        sha512 = fetch("SHA512")
    }
}
