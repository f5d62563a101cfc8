import COpenSSL

/// AES in CFB mode (full-block feedback), as TPM 2.0 uses it to protect credentials and
/// duplicated objects.
public enum AESCFB {
    /// Encrypts `plaintext` under a 16-, 24- or 32-byte `key` and a 16-byte `iv`.
    public static func encrypt(_ plaintext: [UInt8], key: [UInt8], iv: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        try run(plaintext, key: key, iv: iv, encrypt: true)
    }

    /// Decrypts `ciphertext` (the inverse of ``encrypt(_:key:iv:)``).
    public static func decrypt(_ ciphertext: [UInt8], key: [UInt8], iv: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        try run(ciphertext, key: key, iv: iv, encrypt: false)
    }

    private static func run(_ input: [UInt8], key: [UInt8], iv: [UInt8], encrypt: Bool) throws(OpenSSLError) -> [UInt8] {
        let name: String
        switch key.count {
        case 16: name = "AES-128-CFB"
        case 24: name = "AES-192-CFB"
        case 32: name = "AES-256-CFB"
        default: throw OpenSSLError("use AES-CFB with a \(key.count)-byte key")
        }
        guard iv.count == 16 else { throw OpenSSLError("use AES-CFB with a \(iv.count)-byte IV") }
        guard let cipher = EVP_CIPHER_fetch(nil, name, nil), let context = EVP_CIPHER_CTX_new() else {
            throw OpenSSLError("set up \(name)")
        }
        defer {
            EVP_CIPHER_CTX_free(context)
            EVP_CIPHER_free(cipher)
        }
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var written: Int32 = 0
        var final: Int32 = 0
        guard EVP_CipherInit_ex2(context, cipher, key, iv, encrypt ? 1 : 0, nil) == 1,
              EVP_CipherUpdate(context, &output, &written, input, Int32(input.count)) == 1,
              output.withUnsafeMutableBufferPointer({ EVP_CipherFinal_ex(context, $0.baseAddress! + Int(written), &final) }) == 1
        else { throw OpenSSLError("run \(name)") }
        return Array(output.prefix(Int(written + final)))
    }
}
