#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftASN1
import WardenAPI
import WardenCrypto
import X509

/// The release key, accepted only from a certificate the server CA issued for release
/// signing (id-kp-documentSigning), valid now.
enum ReleaseSigner {
    /// Nil only if the constant were malformed; the check below then fails closed.
    static let releaseSigning = (try? ASN1ObjectIdentifier(elements: ReleaseSigning.extendedKeyUsage)).map(
        ExtendedKeyUsage.Usage.init(oid:))

    /// The release key's public key, after checking its certificate against `serverCA` (PEM).
    static func publicKey(certificatePEM: String, serverCA: String, now: Date = Date()) throws(AgentError) -> PublicKey
    {
        let certificate: Certificate
        let authority: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
            authority = try Certificate(pemEncoded: serverCA)
        } catch { throw .badRelease("the release certificate or the CA is unreadable") }
        guard certificate.issuer == authority.subject,
            authority.publicKey.isValidSignature(certificate.signature, for: certificate)
        else {
            throw .badRelease("the release certificate is not issued by the server CA")
        }
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            throw .badRelease("the release certificate is not valid now")
        }
        guard let releaseSigning, (try? certificate.extensions.extendedKeyUsage)??.contains(releaseSigning) == true
        else {
            throw .badRelease("the certificate is not for release signing")
        }
        do {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate.publicKey)
            return try PublicKey(der: serializer.serializedBytes)
        } catch { throw .badRelease("the release key is unreadable") }
    }
}
