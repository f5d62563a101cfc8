import CTSS2

/// Decodes a marshaled TPML_DIGEST (the PCR values TPM2_PCR_Read returns, at most eight).
public enum DigestList {
    /// The digests in order.
    public static func decode(_ bytes: [UInt8]) throws(TPMDecodingError) -> [[UInt8]] {
        var reader = MUReader(bytes, structure: "TPML_DIGEST")
        var list = TPML_DIGEST()
        try reader.read("digests", into: &list, Tss2_MU_TPML_DIGEST_Unmarshal)
        try reader.requireEnd()
        return digests(of: list)
    }

    /// The digests of a C list whose count has already been bounded by the caller or by mu.
    static func digests(of list: TPML_DIGEST) -> [[UInt8]] {
        withUnsafeBytes(of: list.digests) { raw in
            raw.bindMemory(to: TPM2B_DIGEST.self).prefix(Int(list.count)).map { prefixBytes(of: $0.buffer, $0.size) }
        }
    }
}
