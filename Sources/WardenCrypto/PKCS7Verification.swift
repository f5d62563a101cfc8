import COpenSSL

/// Checks a detached PKCS#7 signature against the one certificate that must have made it,
/// as UEFI firmware checks an authenticated variable update: by key, without a chain.
public enum PKCS7Verification {
    /// Whether `signature` (DER ContentInfo) signs `content` by `certificatePEM`'s key.
    public static func isValid(_ signature: [UInt8], of content: [UInt8], signerPEM certificatePEM: String) -> Bool {
        guard !signature.isEmpty, content.count <= Int(Int32.max) else { return false }
        return signature.withUnsafeBufferPointer { signatureBytes in
            content.withUnsafeBufferPointer { contentBytes in
                warden_pkcs7_verify_detached(
                    signatureBytes.baseAddress, signatureBytes.count, contentBytes.baseAddress,
                    Int32(contentBytes.count), certificatePEM) == 1
            }
        }
    }
}
