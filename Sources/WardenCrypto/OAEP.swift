import COpenSSL

/// RSA-OAEP in either direction, with `digest` for both OAEP and MGF1 and `label` (TPM 2.0
/// labels include their terminating NUL byte).
enum OAEP {
    enum Direction {
        case encrypt, decrypt
    }

    static func run(_ direction: Direction, _ input: [UInt8], key: KeyHandle, digest: DigestAlgorithm, label: [UInt8])
        throws(OpenSSLError) -> [UInt8]
    {
        let what = direction == .encrypt ? "OAEP-encrypt" : "OAEP-decrypt"
        guard case .rsa = key.kind else { throw OpenSSLError("\(what): not an RSA key") }
        let operation = direction == .encrypt ? EVP_PKEY_encrypt : EVP_PKEY_decrypt
        let output = key.withContext(for: .oaep(encrypt: direction == .encrypt, digest: digest, label: label)) {
            context -> [UInt8]? in
            var length = 0
            guard operation(context, nil, &length, input, input.count) == 1 else { return nil }
            var out = [UInt8](repeating: 0, count: length)
            guard operation(context, &out, &length, input, input.count) == 1 else { return nil }
            return Array(out.prefix(length))
        }
        guard let output else { throw OpenSSLError(what) }
        return output
    }
}
