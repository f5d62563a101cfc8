import Attestation
import Crypto
import Foundation
import ImageBuilding
import Octets
import SwiftASN1
import UEFIVariables
import WardenCrypto
import X509
import _CryptoExtras

/// The UEFI Secure Boot keys of a rack, in the state folder's `secureboot/`: the platform key
/// (PK), the key-exchange key (KEK) and the signature database key (db) that signs the EFI
/// files Warden serves, each an RSA certificate (`pk.pem`, `kek.pem`, `db.pem`) with its key
/// beside it (`pk.key`…) — except a PK kept offline, whose key stays with the operator.
/// Certificates the operator wants kept in `db` besides Warden's own (a vendor's UEFI CA for
/// option ROMs, say) are `extra-db.pem`. Keys, once there, are never replaced.
public struct SecureBootKeys: Sendable {
    /// One of the firmware's key variables.
    public enum Variable: String, Sendable, CaseIterable, Codable {
        case pk = "PK"
        case kek = "KEK"
        case db

        var certificateFile: StateFolder.File {
            switch self {
            case .pk: .secureBootPK
            case .kek: .secureBootKEK
            case .db: .secureBootDB
            }
        }

        var keyFile: StateFolder.File {
            switch self {
            case .pk: .secureBootPKKey
            case .kek: .secureBootKEKKey
            case .db: .secureBootDBKey
            }
        }
    }

    /// A certificate and, when the operator brings their own, its key (PEM).
    public struct Supplied: Sendable {
        public var certificatePEM: String
        public var keyPEM: String?

        public init(certificatePEM: String, keyPEM: String?) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }
    }

    /// How `warden secureboot init` makes the keys.
    public struct Request: Sendable {
        /// The operator's own certificate and key per variable; Warden creates the others.
        public var supplied: [Variable: Supplied] = [:]
        /// Whether the PK's key stays with the operator: its certificate must be supplied, alone.
        public var offlinePK = false
        /// Further certificates kept in `db` (PEM each), whose keys Warden never holds.
        public var extraDBCertificates: [String] = []
        /// The common name's prefix of the certificates Warden creates ("Warden" gives "Warden PK").
        public var commonNamePrefix = "Warden"

        public init() {}
    }

    /// One certificate in one variable, as `warden secureboot show` lists it.
    public struct Entry: Sendable, Codable, Equatable {
        public let variable: Variable
        public let subject: String
        /// SHA-256 of the certificate's DER, lower-case hex: how policies name a db signer.
        public let sha256: String
        public let notAfter: Date
        /// Whether the state folder holds its private key.
        public let keyHeld: Bool
    }

    /// RSA sizes a firmware takes in its key variables.
    static let acceptedKeySizes = 2048...4096
    static let createdKeySize = 2048

    public let folder: StateFolder

    public init(folder: StateFolder) { self.folder = folder }

    /// Whether the folder holds Secure Boot keys.
    public var exist: Bool { Variable.allCases.contains { folder.exists($0.certificateFile) } }

    /// Whether the keys it holds lack one that serving needs (the db certificate or key):
    /// files an operator removed or a copy left out.
    public var incomplete: Bool { exist && imageSigner == nil }

    /// What signs with the db key, when the folder holds it.
    public var imageSigner: AuthenticodeSigner? {
        guard folder.exists(.secureBootDB), folder.exists(.secureBootDBKey) else { return nil }
        return AuthenticodeSigner(
            certificatePath: folder.url(.secureBootDB).path, keyPath: folder.url(.secureBootDBKey).path)
    }

    /// Creates the keys `request` asks for: checks everything supplied first, and writes all
    /// of them or, when anything is refused or a write fails, none.
    public func initialise(_ request: Request, now: Date = Date()) throws(SecureBootKeyError) {
        let target = folder.url(.secureBootPK).deletingLastPathComponent().path
        guard !exist, (try? FileManager.default.contentsOfDirectory(atPath: target))?.isEmpty ?? true else {
            throw .alreadyInitialised(target)
        }
        var files: [(StateFolder.File, String)] = []
        for variable in Variable.allCases {
            let supplied = request.supplied[variable]
            if variable == .pk && request.offlinePK {
                guard let supplied, supplied.keyPEM == nil else { throw .offlinePKNeedsCertificateOnly }
                _ = try Self.certificate(supplied.certificatePEM, for: variable)
                files.append((variable.certificateFile, supplied.certificatePEM))
                continue
            }
            if let supplied {
                guard let keyPEM = supplied.keyPEM else { throw .keyMissing(variable) }
                let certificate = try Self.certificate(supplied.certificatePEM, for: variable)
                let key: _RSA.Signing.PrivateKey
                do { key = try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM) } catch {
                    throw .unreadable(variable, "its key is not an RSA private key in PEM")
                }
                guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
                    throw .keyDoesNotMatch(variable)
                }
                files += [(variable.certificateFile, supplied.certificatePEM), (variable.keyFile, keyPEM)]
            } else {
                let created = try Self.selfSigned("\(request.commonNamePrefix) \(variable.rawValue)", now: now)
                files += [(variable.certificateFile, created.certificate), (variable.keyFile, created.key)]
            }
        }
        if !request.extraDBCertificates.isEmpty {
            for pem in request.extraDBCertificates { _ = try Self.certificate(pem, for: .db, requireRSA: false) }
            files.append((.secureBootExtraDB, request.extraDBCertificates.joined(separator: "\n")))
        }
        try install(files)
        try writeEnrolmentUpdates(now: now)
    }

    /// Writes `files` into a folder of their own beside `secureboot/`, then renames it into
    /// place: a crash leaves no half set, and a `secureboot/` made meanwhile is never replaced.
    private func install(_ files: [(StateFolder.File, String)]) throws(SecureBootKeyError) {
        let target = folder.url(.secureBootPK).deletingLastPathComponent().path
        var template = Array((folder.path + "/.secureboot-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        guard let staging = created else {
            throw .unwritable("cannot create a folder in \(folder.path): \(String(cString: strerror(errno)))")
        }
        defer { try? FileManager.default.removeItem(atPath: staging) }
        do {
            let fresh = StateFolder(path: staging)
            try fresh.createFolder(of: .secureBootPK)
            for (file, text) in files { try fresh.write(file, bytes: Array(text.utf8)) }
        } catch {
            throw .unwritable("cannot write the keys in \(staging): \(error)")
        }
        let staged = staging + "/" + (target as NSString).lastPathComponent
        guard rename(staged, target) == 0 else {
            let reason = String(cString: strerror(errno))
            if errno == ENOTEMPTY || errno == EEXIST { throw .alreadyInitialised(target) }
            throw .unwritable("cannot move the keys to \(target): \(reason)")
        }
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

    /// An update of one key variable: its signature list, what its signer signs and, when
    /// the folder holds that signer's key, the signed update.
    public struct VariableUpdate: Sendable {
        public let variable: SecureBootVariable
        public let signatureList: [UInt8]
        public let toBeSigned: [UInt8]
        public let signed: [UInt8]?
        /// The variable whose key signs this one's updates: PK signs PK (in setup mode) and
        /// KEK; KEK signs db.
        public var signer: Variable { SecureBootKeys.signer(of: variable) }
    }

    /// The updates that enrol this folder's keys at `time` (EFI_TIME bytes,
    /// ``SecureBootVariable/time(_:)``): PK, KEK and db (with the extra db certificates).
    public func variableUpdates(time: [UInt8]) throws(SecureBootKeyError) -> [VariableUpdate] {
        try SecureBootVariable.allCases.map { variable throws(SecureBootKeyError) in
            let list = try signatureList(of: variable)
            let signer = Self.signer(of: variable)
            let signed: [UInt8]?
            if folder.exists(signer.keyFile) {
                let detached = DetachedSigner(
                    certificatePEM: try text(of: signer.certificateFile), keyPEM: try text(of: signer.keyFile))
                do { signed = try variable.update(list, time: time, signedBy: detached) } catch {
                    throw .unwritable("\(error)")
                }
            } else {
                signed = nil
            }
            return VariableUpdate(
                variable: variable, signatureList: list, toBeSigned: variable.toBeSigned(list, time: time),
                signed: signed)
        }
    }

    /// The update of `variable` at `time` from `signature`, a detached PKCS#7 (DER) its
    /// signer made offline over the update's bundle; refused unless it is that signer's
    /// signature of exactly that bundle.
    public func completedUpdate(of variable: SecureBootVariable, time: [UInt8], signature: [UInt8])
        throws(SecureBootKeyError) -> [UInt8]
    {
        let list = try signatureList(of: variable)
        let signer = Self.signer(of: variable)
        guard
            PKCS7Verification.isValid(
                signature, of: variable.toBeSigned(list, time: time), signerPEM: try text(of: signer.certificateFile))
        else {
            throw .unreadable(
                signer,
                "the signature is not the \(signer.rawValue) key's signature of the \(variable.rawValue) update at that time"
            )
        }
        do { return try variable.update(list, time: time, signature: signature) } catch {
            throw .unreadable(signer, "\(error)")
        }
    }

    /// The variable whose key signs `variable`'s updates.
    public static func signer(of variable: SecureBootVariable) -> Variable { variable == .db ? .kek : .pk }

    /// The signature list `variable` is enrolled with: its certificate, and for db the extra ones.
    func signatureList(of variable: SecureBootVariable) throws(SecureBootKeyError) -> [UInt8] {
        let own = Variable(rawValue: variable.rawValue) ?? .db
        var certificates = [try der(try Self.certificate(try text(of: own.certificateFile), for: own), own)]
        if variable == .db {
            for certificate in try extraDBCertificates() { certificates.append(try der(certificate, .db)) }
        }
        return EFISignatureList.encode(certificates: certificates)
    }

    private func der(_ certificate: Certificate, _ variable: Variable) throws(SecureBootKeyError) -> [UInt8] {
        do { return try certificate.serializeAsPEM().derBytes } catch { throw .unreadable(variable, "\(error)") }
    }

    /// Every certificate of every variable, Warden's own first.
    public func entries() throws(SecureBootKeyError) -> [Entry] {
        var entries: [Entry] = []
        for variable in Variable.allCases where folder.exists(variable.certificateFile) {
            let pem = try text(of: variable.certificateFile)
            entries.append(
                try Self.entry(
                    try Self.certificate(pem, for: variable), variable: variable,
                    keyHeld: folder.exists(variable.keyFile)))
        }
        for certificate in try extraDBCertificates() {
            entries.append(try Self.entry(certificate, variable: .db, keyHeld: false))
        }
        return entries
    }

    /// The keys as a policy's `secureBootKeys: rack` stands for them: the certificates of PK,
    /// KEK and db (with the extra ones), and as the only signer db's own certificate, which
    /// signs what Warden serves (an extra certificate that must authorise something, option
    /// ROMs say, is named in a policy of the operator's); nil when the folder holds none.
    public func policyKeys() throws(SecureBootKeyError) -> Policy.SecureBootKeySet? {
        guard exist else { return nil }
        let entries = try entries()
        func fingerprints(_ variable: Variable) -> Set<String> {
            Set(entries.filter { $0.variable == variable }.map(\.sha256))
        }
        // entries() lists db's own certificate before the extra ones.
        let signer = entries.first { $0.variable == .db }.map { Set([$0.sha256]) } ?? []
        do {
            return try Policy.SecureBootKeySet(
                pk: fingerprints(.pk), kek: fingerprints(.kek), db: fingerprints(.db), signers: signer)
        } catch {
            throw .unreadable(.db, error.description)
        }
    }

    /// The certificates the operator keeps in db besides Warden's own, in file order.
    private func extraDBCertificates() throws(SecureBootKeyError) -> [Certificate] {
        guard folder.exists(.secureBootExtraDB) else { return [] }
        let name = StateFolder.File.secureBootExtraDB.rawValue
        let documents: [PEMDocument]
        do { documents = try PEMDocument.parseMultiple(pemString: try text(of: .secureBootExtraDB)) } catch {
            throw .unreadable(.db, "\(name) is not PEM")
        }
        return try documents.map { document throws(SecureBootKeyError) in
            do { return try Certificate(pemDocument: document) } catch {
                throw .unreadable(.db, "\(name) holds a bad certificate")
            }
        }
    }

    private func text(of file: StateFolder.File) throws(SecureBootKeyError) -> String {
        do { return try String(contentsOf: folder.url(file), encoding: .utf8) } catch {
            throw .unwritable("cannot read \(folder.url(file).path): \(error.localizedDescription)")
        }
    }

    private static func entry(_ certificate: Certificate, variable: Variable, keyHeld: Bool) throws(SecureBootKeyError)
        -> Entry
    {
        let der: [UInt8]
        do { der = try certificate.serializeAsPEM().derBytes } catch { throw .unreadable(variable, "\(error)") }
        return Entry(
            variable: variable, subject: certificate.subject.description,
            sha256: Hex.encode(DigestAlgorithm.sha256.hash(der)), notAfter: certificate.notValidAfter,
            keyHeld: keyHeld)
    }

    /// The certificate in `pem`, refused unless it is an RSA key of a size firmware takes.
    private static func certificate(_ pem: String, for variable: Variable, requireRSA: Bool = true)
        throws(SecureBootKeyError) -> Certificate
    {
        let certificate: Certificate
        do { certificate = try Certificate(pemEncoded: pem) } catch {
            throw .unreadable(variable, "its certificate is not an X.509 certificate in PEM")
        }
        if requireRSA {
            guard let key = _RSA.Signing.PublicKey(certificate.publicKey),
                acceptedKeySizes.contains(key.keySizeInBits)
            else { throw .unreadable(variable, "its certificate's key is not RSA of 2048 to 4096 bits") }
        }
        return certificate
    }

    /// A new RSA key and its self-signed certificate (as sbctl and efitools make them: each
    /// variable's certificate stands alone; the firmware checks signatures, not chains).
    private static func selfSigned(_ commonName: String, now: Date) throws(SecureBootKeyError)
        -> (certificate: String, key: String)
    {
        do {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let name = try DistinguishedName {
                OrganizationName("Warden")
                CommonName(commonName)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Issuer.validity),
                issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                    SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
                },
                issuerPrivateKey: .init(key))
            return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
        } catch {
            throw .unwritable("creating the \(commonName) key failed: \(error)")
        }
    }
}

/// Why Secure Boot keys were refused.
public enum SecureBootKeyError: Error, Equatable, CustomStringConvertible {
    case alreadyInitialised(String)
    case offlinePKNeedsCertificateOnly
    case keyMissing(SecureBootKeys.Variable)
    case keyDoesNotMatch(SecureBootKeys.Variable)
    case unreadable(SecureBootKeys.Variable, String)
    case unwritable(String)
    /// The update of a variable that enrolment serves is missing or carries other keys.
    case enrolmentUpdate(SecureBootVariable, String)

    public var description: String {
        switch self {
        case .alreadyInitialised(let path):
            "\(path) already holds Secure Boot keys: they are never replaced"
        case .offlinePKNeedsCertificateOnly:
            "--offline-pk needs the PK's certificate (--pk-cert) and no key: its key stays with you"
        case .keyMissing(let variable):
            "the \(variable.rawValue) certificate needs its key (--\(variable.rawValue.lowercased())-key)"
        case .keyDoesNotMatch(let variable):
            "the \(variable.rawValue) key is not the key of its certificate"
        case .unreadable(let variable, let why): "\(variable.rawValue): \(why)"
        case .unwritable(let why): why
        case .enrolmentUpdate(let variable, let why): "the \(variable.rawValue) enrolment update \(why)"
        }
    }
}
