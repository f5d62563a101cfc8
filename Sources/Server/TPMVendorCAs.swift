import Foundation
import SwiftASN1
import X509

/// The TPM vendor CAs an EK certificate of a discovered machine must be issued by
/// (`tpmVendorCAs`): checked when the machine registers — only a certificate one of them
/// issued is kept — and again when an operator adopts it.
public struct TPMVendorCAs: Sendable {
    private let authorities: [Certificate]

    /// Reads the PEM files at `paths` (each may hold several certificates).
    public init(paths: [String]) throws {
        authorities = try paths.flatMap { path in
            try PEMDocument.parseMultiple(pemString: String(contentsOfFile: path, encoding: .utf8)).map {
                try Certificate(pemDocument: $0)
            }
        }
    }

    private init(authorities: [Certificate]) { self.authorities = authorities }

    /// None configured: no EK certificate is kept, and no discovered machine can be adopted.
    public static let none = TPMVendorCAs(authorities: [])

    /// Why `certificate` (DER or PEM) is not an EK certificate a configured vendor CA issued
    /// and that is valid `now`; nil when it is.
    public func problem(with certificate: [UInt8], now: Date = Date()) -> String? {
        guard !authorities.isEmpty else {
            return "no TPM vendor CAs are configured (tpmVendorCAs): the EK certificate cannot be checked"
        }
        let leaf: Certificate
        do {
            leaf =
                certificate.first == 0x30
                ? try Certificate(derEncoded: certificate)
                : try Certificate(pemEncoded: String(decoding: certificate, as: UTF8.self))
        } catch { return "the EK certificate is unreadable" }
        guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else {
            return "the EK certificate is not valid now"
        }
        guard
            authorities.contains(where: {
                $0.subject == leaf.issuer && $0.publicKey.isValidSignature(leaf.signature, for: leaf)
            })
        else {
            return "the EK certificate is not issued by a configured TPM vendor CA"
        }
        return nil
    }
}
