import COpenSSL

/// Byte-string comparisons whose timing does not depend on where the inputs differ.
public enum ConstantTime {
    /// True when `a` and `b` have the same length and the same bytes. The length itself is
    /// not secret; the contents are compared in constant time.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, pa.count) == 0 }
        }
    }
}
