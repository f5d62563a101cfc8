import COpenSSL

/// One libcrypto cipher operation: fetches the named cipher, initialises a context for
/// encryption or decryption, and frees both afterwards.
enum CipherContext {
    static func with<T>(
        _ name: String, key: [UInt8], iv: [UInt8], encrypt: Bool, _ body: (OpaquePointer) throws(OpenSSLError) -> T
    ) throws(OpenSSLError) -> T {
        guard let cipher = EVP_CIPHER_fetch(nil, name, nil) else { throw OpenSSLError("fetch \(name)") }
        defer { EVP_CIPHER_free(cipher) }
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
