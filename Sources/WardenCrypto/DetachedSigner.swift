import COpenSSL

/// Signs files with detached DER CMS signatures (RSA, SHA-256, no signed attributes): the
/// form iPXE's `imgverify` accepts and `openssl cms -verify -binary -inform DER` checks.
public struct DetachedSigner: Sendable {
    private let certificatePEM: String
    private let keyPEM: String

    /// A signer with a PEM certificate and its unencrypted PEM private key.
    public init(certificatePEM: String, keyPEM: String) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    /// The signature of the file at `path`, read as it is signed.
    public func sign(fileAt path: String) throws(OpenSSLError) -> [UInt8] {
        try signature(of: path) { out in warden_cms_sign_file(certificatePEM, keyPEM, path, &out) }
    }

    /// The signature of `bytes` (part of a file: an image's kernel or initrd section).
    public func sign(_ bytes: ArraySlice<UInt8>) throws(OpenSSLError) -> [UInt8] {
        guard bytes.count <= Int(Int32.max) else { throw OpenSSLError("sign \(bytes.count) bytes (CMS): too large") }
        return try signature(of: "\(bytes.count) bytes") { out in
            bytes.withUnsafeBufferPointer {
                warden_cms_sign_bytes(certificatePEM, keyPEM, $0.baseAddress, Int32($0.count), &out)
            }
        }
    }

    /// The PKCS#7 signature of `bytes` as UEFI variable updates carry it (and efitools'
    /// sign-efi-sig-list makes it): a DER ContentInfo, SHA-256, no signed attributes.
    public func signPKCS7(_ bytes: ArraySlice<UInt8>) throws(OpenSSLError) -> [UInt8] {
        guard bytes.count <= Int(Int32.max) else { throw OpenSSLError("sign \(bytes.count) bytes (PKCS#7): too large") }
        return try signature(of: "\(bytes.count) bytes", as: "PKCS#7") { out in
            bytes.withUnsafeBufferPointer {
                warden_pkcs7_sign_bytes(certificatePEM, keyPEM, $0.baseAddress, Int32($0.count), &out)
            }
        }
    }

    private func signature(
        of what: String, as format: String = "CMS", _ sign: (inout UnsafeMutablePointer<UInt8>?) -> Int32
    ) throws(OpenSSLError)
        -> [UInt8]
    {
        var out: UnsafeMutablePointer<UInt8>?
        let length = sign(&out)
        guard length > 0, let out else { throw OpenSSLError("sign \(what) (\(format))") }
        defer { warden_openssl_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}
