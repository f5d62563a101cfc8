import COpenSSL

/// Random bytes from libcrypto's CSPRNG.
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard count == 0 || RAND_bytes(&bytes, Int32(count)) == 1 else {
            fatalError("RAND_bytes failed: \(OpenSSLError("draw random bytes"))")
        }
        return bytes
    }
}
