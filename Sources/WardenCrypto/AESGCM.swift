import COpenSSL

/// AES-256-GCM authenticated encryption: the seal on secrets at rest.
public enum AESGCM {
    public static let keySize = 32
    static let nonceSize = 12
    static let tagSize = 16

    /// Encrypts `plaintext` under `key` with `associatedData` bound to it; returns
    /// nonce ‖ ciphertext ‖ tag, with a fresh random nonce.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws(OpenSSLError) -> [UInt8]
    {
        let nonce = SecureRandom.bytes(nonceSize)
        var tag = [UInt8](repeating: 0, count: tagSize)
        let ciphertext = try run(
            plaintext, key: key, nonce: nonce, associatedData: associatedData, encrypt: true, tag: &tag)
        return nonce + ciphertext + tag
    }

    /// Decrypts what ``seal(_:key:associatedData:)`` made; fails when the key, the associated
    /// data or any byte differs.
    public static func open(_ sealed: [UInt8], key: [UInt8], associatedData: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        guard sealed.count >= nonceSize + tagSize else { throw OpenSSLError("open a sealed value: too short") }
        var tag = Array(sealed.suffix(tagSize))
        return try run(
            Array(sealed[nonceSize..<(sealed.count - tagSize)]), key: key, nonce: Array(sealed.prefix(nonceSize)),
            associatedData: associatedData, encrypt: false, tag: &tag)
    }

    private static func run(
        _ input: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8], encrypt: Bool, tag: inout [UInt8]
    ) throws(OpenSSLError) -> [UInt8] {
        guard key.count == keySize else { throw OpenSSLError("use AES-256-GCM with a \(key.count)-byte key") }
        let operation = encrypt ? "seal" : "open a sealed value"
        return try CipherContext.with("AES-256-GCM", key: key, iv: nonce, encrypt: encrypt) {
            (context) throws(OpenSSLError) -> [UInt8] in
            var length: Int32 = 0
            guard
                associatedData.isEmpty
                    || EVP_CipherUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1,
                encrypt || EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &tag) == 1
            else { throw OpenSSLError(operation) }
            guard let output = CipherContext.process(context, input) else {
                throw OpenSSLError("\(operation): authentication failed")
            }
            guard !encrypt || EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), &tag) == 1 else {
                throw OpenSSLError(operation)
            }
            return output
        }
    }
}
