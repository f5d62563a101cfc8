import COpenSSL

/// Converts ECDSA signatures between the TPM's (r, s) pair and DER.
public enum ECDSASignature {
    /// DER ECDSA-Sig-Value for big-endian `r` and `s`; nil when they are not valid integers.
    public static func der(r: [UInt8], s: [UInt8]) -> [UInt8]? {
        var out: UnsafeMutablePointer<UInt8>?
        let length = warden_ecdsa_der_from_rs(r, r.count, s, s.count, &out)
        guard length > 0, let out else { return nil }
        defer { warden_openssl_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    /// The (r, s) pair of a DER signature, each padded to `width` bytes.
    public static func components(der: [UInt8], width: Int) -> (r: [UInt8], s: [UInt8])? {
        var r = [UInt8](repeating: 0, count: width)
        var s = [UInt8](repeating: 0, count: width)
        guard warden_ecdsa_rs_from_der(der, der.count, Int32(width), &r, &s) == 1 else { return nil }
        return (r, s)
    }
}
