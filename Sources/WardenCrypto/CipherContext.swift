import COpenSSL

/// One libcrypto cipher operation: initialises a context for encryption or decryption with
/// the named cipher, and frees it afterwards.
enum CipherContext {
    static func with<T>(
        _ name: String, key: [UInt8], iv: [UInt8], encrypt: Bool, _ body: (OpaquePointer) throws(OpenSSLError) -> T
    ) throws(OpenSSLError) -> T {
        let cipher = try FetchedCiphers.cipher(named: name)
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSLError("set up \(name)") }
        defer { EVP_CIPHER_CTX_free(context) }
        guard EVP_CipherInit_ex2(context, cipher, key, iv, encrypt ? 1 : 0, nil) == 1 else {
            throw OpenSSLError("initialise \(name)")
        }
        return try body(context)
    }

    /// Feeds `input` and finishes; the output of both steps.
    static func process(_ context: OpaquePointer, _ input: [UInt8]) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: input.count + 32)
        var length: Int32 = 0
        var final: Int32 = 0
        guard EVP_CipherUpdate(context, &output, &length, input, Int32(input.count)) == 1 else { return nil }
        let finished = output.withUnsafeMutableBufferPointer {
            EVP_CipherFinal_ex(context, $0.baseAddress! + Int(length), &final)
        }
        guard finished == 1 else { return nil }
        return Array(output.prefix(Int(length + final)))
    }
}

/// EVP_CIPHER methods fetched at first use and kept for the life of the process, as
/// ``DigestAlgorithm/method`` keeps digests: a fetch looks the name up among the providers
/// under a lock every thread shares, which cost a release's AES-GCM a quarter of its time
/// in the server's profile.
private enum FetchedCiphers {
    /// An EVP_CIPHER, which libcrypto allows every thread to share; never freed.
    private struct Fetched: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// Every cipher Warden names (AES-GCM and AES-CFB), fetched once.
    private static let kept: [String: Fetched] = Dictionary(
        uniqueKeysWithValues: ["AES-256-GCM", "AES-128-CFB", "AES-192-CFB", "AES-256-CFB"].compactMap { name in
            EVP_CIPHER_fetch(nil, name, nil).map { (name, Fetched(pointer: $0)) }
        })

    static func cipher(named name: String) throws(OpenSSLError) -> OpaquePointer {
        guard let cipher = kept[name] else { throw OpenSSLError("fetch \(name)") }
        return cipher.pointer
    }
}
