import Audit
import Crypto
import Foundation
import Images
import SwiftASN1
import Store
import WardenAPI
import WardenCrypto
import X509

/// The server's state folder (`./.warden` in development), initialised on first start and
/// reused afterwards: a server CA and the server's TLS certificate; a separate client CA
/// and an operator client certificate for the local CLI. Private keys are 0600 files.
public struct StateFolder: Sendable {
    /// The folder.
    public let path: String

    /// Files, relative to the folder.
    public enum File: String, CaseIterable, Sendable {
        /// The server CA certificate: the only trust anchor agents and the CLI use.
        case serverCA = "ca.pem"
        case serverCAKey = "ca.key"
        case serverCertificate = "server.pem"
        case serverKey = "server.key"
        /// The CA that issues operator and auditor client certificates.
        case clientCA = "client-ca.pem"
        case clientCAKey = "client-ca.key"
        case operatorCertificate = "operator/cert.pem"
        case operatorKey = "operator/key.pem"
        /// A copy of the server CA beside the operator identity, so the folder is complete.
        case operatorServerCA = "operator/ca.pem"
        /// The key that signs releases (ECDSA P-256); agents check its signature.
        case releaseKey = "release.key"
        /// The release key's certificate, issued by the server CA for document signing, so
        /// that agents, which trust only the server CA, can check a release's signer.
        case releaseCertificate = "release.pem"
        /// The key-encryption key that seals secrets at rest.
        case keyEncryptionKey = "kek.key"
        /// The key that signs the images Warden serves (RSA 3072: iPXE's imgverify takes RSA).
        case imageSigningKey = "image-signing-rsa.key"
        /// The image-signing key's certificate, issued by the server CA for code signing only.
        case imageSigningCertificate = "image-signing.pem"
        /// The key that signs audit checkpoints and export manifests (Ed25519).
        case auditKey = "audit.key"
        /// Secure Boot's platform key certificate, and its key unless the operator keeps it offline.
        case secureBootPK = "secureboot/pk.pem"
        case secureBootPKKey = "secureboot/pk.key"
        /// Secure Boot's key-exchange key.
        case secureBootKEK = "secureboot/kek.pem"
        case secureBootKEKKey = "secureboot/kek.key"
        /// Secure Boot's signature database key, which signs the EFI files Warden serves.
        case secureBootDB = "secureboot/db.pem"
        case secureBootDBKey = "secureboot/db.key"
        /// Further certificates the operator keeps in `db` (PEM, one after another).
        case secureBootExtraDB = "secureboot/extra-db.pem"
        /// The signed updates that enrol PK, KEK and db in a machine in setup mode.
        case secureBootPKUpdate = "secureboot/PK.auth"
        case secureBootKEKUpdate = "secureboot/KEK.auth"
        case secureBootDBUpdate = "secureboot/db.auth"

        var isPrivate: Bool { rawValue.hasSuffix(".key") || rawValue.hasSuffix("key.pem") }

        /// The files every initialised folder holds; the Secure Boot keys come only with
        /// `warden secureboot init` (or a join bundle that carries them).
        public static var initialised: [File] { allCases.filter { !$0.rawValue.hasPrefix("secureboot/") } }
    }

    /// Opens the folder, creating whatever is missing. Existing files are never replaced.
    public static func initialise(
        at path: String, serverNames: [String] = ["localhost", "127.0.0.1"], now: Date = Date()
    ) throws -> StateFolder {
        let folder = StateFolder(path: path)
        try FileManager.default.createDirectory(
            atPath: path + "/operator", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(path, 0o700)
        if !folder.exists(.serverCA) {
            let ca = try Issuer.selfSigned(commonName: "Warden server CA", now: now)
            try folder.write(.serverCAKey, ca.key.pemRepresentation)
            try folder.write(.serverCA, try ca.certificate.serializeAsPEM().pemString)
        }
        // Its own on every appliance, also on one that joined with the CA of another.
        if !folder.exists(.serverCertificate) {
            let server = try folder.newServerCertificate(naming: serverNames, now: now)
            try folder.write(.serverKey, server.key.pemRepresentation)
            try folder.write(.serverCertificate, try server.certificate.serializeAsPEM().pemString)
        }
        if !folder.exists(.clientCA) {
            let clientCA = try Issuer.selfSigned(commonName: "Warden client CA", now: now)
            try folder.write(.clientCAKey, clientCA.key.pemRepresentation)
            try folder.write(.clientCA, try clientCA.certificate.serializeAsPEM().pemString)
        }
        if !folder.exists(.operatorCertificate) {
            let operatorIdentity = try folder.clientIssuer().issue(
                commonName: "operator", role: "operator", extendedKeyUsage: .clientAuth, now: now)
            try folder.write(.operatorKey, operatorIdentity.key.pemRepresentation)
            try folder.write(.operatorCertificate, try operatorIdentity.certificate.serializeAsPEM().pemString)
        }
        if !folder.exists(.operatorServerCA) {
            try folder.write(
                .operatorServerCA, String(decoding: try Data(contentsOf: folder.url(.serverCA)), as: UTF8.self))
        }
        if !folder.exists(.releaseKey) {
            try folder.write(.releaseKey, String(decoding: try SigningKey.ec(.p256).pem, as: UTF8.self))
        }
        if !folder.exists(.releaseCertificate) {
            let releaseKey = try P256.Signing.PrivateKey(
                pemRepresentation: String(contentsOf: folder.url(.releaseKey), encoding: .utf8))
            let certificate = try folder.serverIssuer().certify(
                .init(releaseKey.publicKey), commonName: "Warden release signing", extendedKeyUsage: .releaseSigning(),
                now: now)
            try folder.write(.releaseCertificate, try certificate.serializeAsPEM().pemString)
        }
        if !folder.exists(.imageSigningKey) {
            try folder.write(.imageSigningKey, String(decoding: try SigningKey.rsa(bits: 3072).pem, as: UTF8.self))
        }
        if !folder.exists(.imageSigningCertificate) {
            let publicKey = try Certificate.PublicKey(
                derEncoded: try SigningKey(pem: [UInt8](Data(contentsOf: folder.url(.imageSigningKey)))).publicKey.der)
            let certificate = try folder.serverIssuer().certify(
                publicKey, commonName: "Warden image signing", extendedKeyUsage: .codeSigning, now: now)
            try folder.write(.imageSigningCertificate, try certificate.serializeAsPEM().pemString)
        }
        if !folder.exists(.auditKey) {
            try folder.write(.auditKey, AuditKey.generate().pem)
        }
        _ = try folder.keyEncryptionKey()
        return folder
    }

    /// A state folder `warden serve` initialised before, for local tools that must not
    /// create one (an export on the appliance, say).
    public static func existing(at path: String) throws -> StateFolder {
        let folder = StateFolder(path: path)
        // The keys are what `warden serve` makes; the database may be PostgreSQL's, not a file here.
        guard folder.exists(.auditKey) else {
            throw CocoaError(
                .fileNoSuchFile,
                userInfo: [
                    NSFilePathErrorKey: path,
                    NSLocalizedDescriptionKey: "\(path) is not an initialised state folder (run `warden serve` once)",
                ])
        }
        return folder
    }

    /// Issues the local `operator` identity anew from the client CA, replacing
    /// `operator/cert.pem` and `operator/key.pem`; returns the new certificate's serial
    /// (hex), which the store must record before it opens the admin API. For an appliance
    /// whose operators revoked every operator certificate, including this one.
    public func reissueOperatorIdentity(now: Date = Date()) throws -> String {
        let issued = try clientIssuer().issue(
            commonName: "operator", role: "operator", extendedKeyUsage: .clientAuth, now: now)
        try replace(.operatorKey, issued.key.pemRepresentation)
        try replace(.operatorCertificate, try issued.certificate.serializeAsPEM().pemString)
        return Hex.encode(issued.certificate.serialNumber.bytes)
    }

    /// Writes `file` anew beside the old one, then moves it in its place.
    private func replace(_ file: File, _ text: String) throws {
        let fresh = url(file).path + ".new"
        unlink(fresh)
        let descriptor = open(fresh, O_WRONLY | O_CREAT | O_EXCL, file.isPrivate ? 0o600 : 0o644)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: fresh]) }
        let bytes = Array(text.utf8)
        let written =
            bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) } == bytes.count
            && fsync(descriptor) == 0
        close(descriptor)
        guard written, rename(fresh, url(file).path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url(file).path])
        }
    }

    /// SHA-256 of the server certificate's DER: how the appliance table knows it.
    public func serverCertificateSHA256() throws -> [UInt8] {
        let certificate = try Certificate(pemEncoded: String(contentsOf: url(.serverCertificate), encoding: .utf8))
        return DigestAlgorithm.sha256.hash(try certificate.serializeAsPEM().derBytes)
    }

    /// The names the server certificate carries: DNS names and IPv4 addresses.
    public func serverCertificateNames() throws -> [String] {
        let certificate = try Certificate(pemEncoded: String(contentsOf: url(.serverCertificate), encoding: .utf8))
        guard let names = try certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name -> String? in
            switch name {
            case .dnsName(let text): text
            case .ipAddress(let address) where address.bytes.count == 4:
                address.bytes.map(String.init).joined(separator: ".")
            default: nil
            }
        }
    }

    /// Issues the server certificate anew from the server CA, with a new key, naming
    /// `serverNames`; returns the new certificate's SHA-256. Agents trust it at once (same
    /// CA); the appliance table records it when `warden serve` next starts.
    public func reissueServerCertificate(serverNames: [String], now: Date = Date()) throws -> [UInt8] {
        let server = try newServerCertificate(naming: serverNames, now: now)
        // A stop between the two leaves a key and a certificate that do not match, which
        // `warden serve` refuses and a second reissue mends.
        try replace(.serverKey, server.key.pemRepresentation)
        try replace(.serverCertificate, try server.certificate.serializeAsPEM().pemString)
        return try serverCertificateSHA256()
    }

    private func newServerCertificate(naming serverNames: [String], now: Date) throws -> Issuer {
        try serverIssuer().issue(
            commonName: serverNames.first ?? "localhost", extendedKeyUsage: .serverAuth,
            subjectAlternativeNames: serverNames, now: now)
    }

    /// The local operator certificate's serial (hex).
    public func operatorSerial() throws -> String {
        let certificate = try Certificate(pemEncoded: String(contentsOf: url(.operatorCertificate), encoding: .utf8))
        return Hex.encode(certificate.serialNumber.bytes)
    }

    /// Deletes every key and certificate of the folder (a join that failed after writing them).
    public func removeKeys() {
        for file in File.allCases { unlink(url(file).path) }
    }

    /// The release-signing key.
    public func releaseKey() throws -> SigningKey {
        try SigningKey(pem: [UInt8](Data(contentsOf: url(.releaseKey))))
    }

    /// The issuer of operator and auditor certificates.
    func clientIssuer() throws -> Issuer { try issuer(.clientCA, .clientCAKey) }

    /// The server CA, which issues the server's and the release key's certificates.
    func serverIssuer() throws -> Issuer { try issuer(.serverCA, .serverCAKey) }

    private func issuer(_ certificateFile: File, _ keyFile: File) throws -> Issuer {
        let certificate = try Certificate(pemEncoded: String(contentsOf: url(certificateFile), encoding: .utf8))
        let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: url(keyFile), encoding: .utf8))
        return Issuer(key: key, certificate: certificate)
    }

    /// The audit key (Ed25519), which signs checkpoints and export manifests.
    public func auditKey() throws -> AuditKey { try AuditKey(file: url(.auditKey).path) }

    /// The key-encryption key (created with the folder).
    public func keyEncryptionKey() throws -> KeyEncryptionKey {
        try KeyEncryptionKey.loadOrCreate(at: url(.keyEncryptionKey).path)
    }

    /// The folder the TFTP server serves (filled from the firmware manifest at start).
    public var tftpRoot: String { path + "/tftp" }

    /// The folder of served images, each under its SHA-256, with its signature beside it.
    public var imagesPath: String { path + "/images" }

    /// What signs the images Warden serves.
    public func imageSigner() throws -> DetachedSigner {
        DetachedSigner(
            certificatePEM: try String(contentsOf: url(.imageSigningCertificate), encoding: .utf8),
            keyPEM: try String(contentsOf: url(.imageSigningKey), encoding: .utf8))
    }

    /// The image catalogue over the image store of this folder, signing with its image key
    /// and, when the folder has Secure Boot keys, its db key.
    public func imageCatalogue(store: EnrolmentStore) throws -> ImageCatalogue {
        try ImageCatalogue(
            folder: imagesPath, store: store, signer: try imageSigner(),
            secureBootSigner: SecureBootKeys(folder: self).imageSigner)
    }

    /// The enrolment database (SQLite), which the store creates.
    public var databasePath: String { path + "/warden.sqlite" }

    /// The full path of `file`.
    public func url(_ file: File) -> URL { URL(fileURLWithPath: path).appendingPathComponent(file.rawValue) }

    func exists(_ file: File) -> Bool { FileManager.default.fileExists(atPath: url(file).path) }

    /// Creates the folder `file` lives in (0700), when it is not there yet.
    func createFolder(of file: File) throws {
        try FileManager.default.createDirectory(
            at: url(file).deletingLastPathComponent(), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
    }

    /// Writes a new file; private keys get 0600 before any byte is written.
    private func write(_ file: File, _ text: String) throws { try write(file, bytes: Array(text.utf8)) }

    /// Writes a new file of `bytes`; private keys get 0600 before any byte is written.
    func write(_ file: File, bytes: [UInt8]) throws {
        let target = url(file).path
        let descriptor = open(target, O_WRONLY | O_CREAT | O_EXCL, file.isPrivate ? 0o600 : 0o644)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: target]) }
        defer { close(descriptor) }
        guard bytes.withUnsafeBytes({ Foundation.write(descriptor, $0.baseAddress, $0.count) }) == bytes.count,
            fsync(descriptor) == 0
        else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target])
        }
    }
}

/// A CA key and certificate that issues leaf certificates.
struct Issuer {
    let key: P256.Signing.PrivateKey
    let certificate: Certificate

    static let validity: TimeInterval = 10 * 365 * 24 * 3600

    static func selfSigned(commonName: String, now: Date) throws -> Issuer {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Warden")
            CommonName(commonName)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validity),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return Issuer(key: key, certificate: certificate)
    }

    /// A leaf certificate and its new key, for one purpose only; `role` goes in the subject's OU.
    func issue(
        commonName: String, role: String? = nil, extendedKeyUsage: ExtendedKeyUsage.Usage,
        subjectAlternativeNames names: [String] = [], now: Date
    ) throws -> Issuer {
        let leafKey = P256.Signing.PrivateKey()
        let certificate = try certify(
            .init(leafKey.publicKey), commonName: commonName, role: role, extendedKeyUsage: extendedKeyUsage,
            subjectAlternativeNames: names, now: now)
        return Issuer(key: leafKey, certificate: certificate)
    }

    /// A leaf certificate for `publicKey`, for one purpose only.
    func certify(
        _ publicKey: Certificate.PublicKey, commonName: String, role: String? = nil,
        extendedKeyUsage: ExtendedKeyUsage.Usage,
        subjectAlternativeNames names: [String] = [], now: Date
    ) throws -> Certificate {
        let subject = try DistinguishedName {
            OrganizationName("Warden")
            if let role { OrganizationalUnitName(role) }
            CommonName(commonName)
        }
        let alternativeNames = SubjectAlternativeNames(
            names.map { name in
                if let address = ipv4Bytes(name) {
                    return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address)))
                }
                return .dnsName(name)
            })
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Self.validity),
            issuer: self.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([extendedKeyUsage])
                if !names.isEmpty { alternativeNames }
                AuthorityKeyIdentifier(
                    keyIdentifier: try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(key))
    }
}

extension ExtendedKeyUsage.Usage {
    /// What the release key's certificate is for.
    static func releaseSigning() throws -> ExtendedKeyUsage.Usage {
        ExtendedKeyUsage.Usage(oid: try ASN1ObjectIdentifier(elements: ReleaseSigning.extendedKeyUsage))
    }
}

/// The four bytes of a dotted-quad IPv4 address, or nil.
func ipv4Bytes(_ text: String) -> [UInt8]? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    let bytes = parts.compactMap { UInt8($0) }
    return bytes.count == 4 ? bytes : nil
}
