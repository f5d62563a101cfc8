import COpenSSL

/// HMAC over libcrypto.
public enum HMAC {
    /// HMAC-`digest` of `data` under `key`.
    public static func authenticate(_ data: [UInt8], key: [UInt8], digest: DigestAlgorithm) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: digest.digestSize)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                COpenSSL.HMAC(
                    digest.method, k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    d.count, &out, &length)
            }
        }
        guard result != nil, Int(length) == out.count else {
            fatalError("HMAC failed: \(OpenSSLError("compute an HMAC"))")
        }
        return out
    }
}
