import Crypto
import Foundation
import Store
import SwiftASN1
import WardenAPI
import WardenCrypto
import X509

/// Who is calling the admin API: read from a client certificate that Warden's client CA
/// issued, that is recorded in the store, and that is not revoked.
public struct AdminIdentity: Sendable, Equatable {
    public let name: String
    public let role: OperatorRole
    /// The certificate's serial number, hex.
    public let serial: String

    /// The audit log's name for this caller.
    public var actor: String { "operator/\(name)" }

    /// Reads the certificate (DER) the TLS layer verified, and checks it again here: issued
    /// by `clientCA`, for client authentication, with a role, recorded and unrevoked.
    static func authenticate(
        certificateDER der: [UInt8], clientCA: Certificate, store: EnrolmentStore, now: Date = Date()
    ) throws(AdminError) -> AdminIdentity {
        let certificate: Certificate
        do { certificate = try Certificate(derEncoded: der) } catch {
            throw .unauthenticated("the client certificate is unreadable")
        }
        guard certificate.issuer == clientCA.subject,
            clientCA.publicKey.isValidSignature(certificate.signature, for: certificate)
        else {
            throw .unauthenticated("the client certificate was not issued by Warden's client CA")
        }
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            throw .unauthenticated("the client certificate has expired")
        }
        guard (try? certificate.extensions.extendedKeyUsage)??.contains(.clientAuth) == true else {
            throw .unauthenticated("the certificate is not for client authentication")
        }
        let serial = Hex.encode(certificate.serialNumber.bytes)
        let recorded: OperatorCertificate?
        do { recorded = try store.operatorCertificate(serial: serial) } catch {
            throw .internalError("store: \(error)")
        }
        guard let recorded else { throw .unauthenticated("certificate \(serial) was never issued by this server") }
        guard recorded.revokedAt == nil else {
            throw .unauthenticated("the certificate of \(recorded.name) is revoked")
        }
        guard
            let role = attribute(.RDNAttributeType.organizationalUnitName, of: certificate).flatMap(
                OperatorRole.init(rawValue:)), role == recorded.role
        else {
            throw .unauthenticated("the certificate carries no valid role")
        }
        return AdminIdentity(name: recorded.name, role: role, serial: serial)
    }

    static func attribute(_ type: ASN1ObjectIdentifier, of certificate: Certificate) -> String? {
        certificate.subject.lazy.flatMap { $0 }.first { $0.type == type }.flatMap { String($0.value) }
    }
}

/// Why the admin API refused a call; the message never carries a secret.
public enum AdminError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No valid client certificate (401).
    case unauthenticated(String)
    /// The role does not allow it (403).
    case forbidden(String)
    /// The request is malformed or names something that cannot be (400).
    case invalid(String)
    /// No such record (404).
    case notFound(String)
    /// The name or key is taken (409).
    case conflict(String)
    case internalError(String)
    /// The database cannot be reached now (503, with `Retry-After`).
    case unavailable(String)

    public var description: String {
        switch self {
        case .unauthenticated(let why), .forbidden(let why), .invalid(let why), .notFound(let why), .conflict(let why),
            .unavailable(let why):
            why
        case .internalError: "internal error"
        }
    }

    init(_ error: StoreError) {
        switch error {
        case .duplicate, .lifecycle, .stale, .keyNotCurrent: self = .conflict(error.description)
        case .notFound: self = .notFound(error.description)
        case .invalid, .limit, .nonce: self = .invalid(error.description)
        case .keyFile, .sealing, .database, .newerSchema: self = .internalError(error.description)
        case .unavailable: self = .unavailable("the database is unavailable; retry shortly")
        }
    }
}
