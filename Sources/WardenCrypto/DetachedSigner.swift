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
        var out: UnsafeMutablePointer<UInt8>?
        let length = warden_cms_sign_file(certificatePEM, keyPEM, path, &out)
        guard length > 0, let out else { throw OpenSSLError("sign \(path) (CMS)") }
        defer { warden_openssl_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}
