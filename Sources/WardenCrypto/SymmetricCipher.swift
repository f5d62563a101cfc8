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

    private static func run(_ input: [UInt8], key: [UInt8], iv: [UInt8], encrypt: Bool) throws(OpenSSLError) -> [UInt8]
    {
        let name: String
        switch key.count {
        case 16: name = "AES-128-CFB"
        case 24: name = "AES-192-CFB"
        case 32: name = "AES-256-CFB"
        default: throw OpenSSLError("use AES-CFB with a \(key.count)-byte key")
        }
        guard iv.count == 16 else { throw OpenSSLError("use AES-CFB with a \(iv.count)-byte IV") }
        return try CipherContext.with(name, key: key, iv: iv, encrypt: encrypt) {
            (context) throws(OpenSSLError) -> [UInt8] in
            guard let output = CipherContext.process(context, input) else { throw OpenSSLError("run \(name)") }
            return output
        }
    }
}
