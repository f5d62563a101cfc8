import Crypto
import Foundation

extension Curve25519.Signing.PrivateKey {
    /// PKCS#8 PEM (RFC 8410), which `openssl pkey` reads.
    var pkcs8PEM: String {
        let prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        return "-----BEGIN PRIVATE KEY-----\n\(Data(prefix + Array(rawRepresentation)).base64EncodedString())\n-----END PRIVATE KEY-----\n"
    }
}
