import Foundation
import Store
import WardenCrypto

/// Why a join bundle was not made or not taken.
public enum JoinBundleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a join bundle, or is damaged.
    case unreadable(String)
    /// The passphrase does not open it (or a byte of it was changed).
    case wrongPassphrase
    /// The state folder already holds keys of its own.
    case notEmpty(String)
    case passphrase(String)

    public var description: String {
        switch self {
        case .unreadable(let why): "not a join bundle Warden can read: \(why)"
        case .wrongPassphrase: "the passphrase does not open this join bundle (or the bundle was changed)"
        case .notEmpty(let path):
            "\(path) holds keys already: an appliance joins with an empty state folder (its own keys would be lost)"
        case .passphrase(let why): why
        }
    }
}

/// What a new appliance needs to serve beside the others, sealed under a passphrase the
/// operator carries (``PassphraseSeal``: scrypt, AES-256-GCM): the keys every appliance
/// shares — server CA, client CA, release, key-encryption, image and audit signing — and
/// the id of the join the database recorded, which it spends once. Not in it: the
/// server certificate and the local operator identity, which the new appliance issues
/// for itself from the shared CAs, naming its own addresses; the database password.
public struct JoinBundle: Sendable, Equatable {
    /// The state folder's files every appliance holds the same.
    public static let sharedFiles: [StateFolder.File] = [
        .serverCA, .serverCAKey, .clientCA, .clientCAKey, .releaseKey, .releaseCertificate, .keyEncryptionKey,
        .imageSigningKey, .imageSigningCertificate, .auditKey,
    ]
    /// What the sealed bytes are, bound to them.
    static let context = "warden-join-bundle/1"
    /// The shortest passphrase taken.
    public static let minimumPassphraseLength = 12

    public let id: [UInt8]
    public let issuedBy: String
    public let expiresAt: Date
    /// Shared files by name (``StateFolder/File`` raw values).
    public let files: [String: [UInt8]]

    /// The bundle of `state`'s shared keys for the join the store recorded.
    public static func export(from state: StateFolder, join: ApplianceJoin) throws -> JoinBundle {
        var files: [String: [UInt8]] = [:]
        for file in sharedFiles { files[file.rawValue] = [UInt8](try Data(contentsOf: state.url(file))) }
        return JoinBundle(id: join.id, issuedBy: join.issuedBy, expiresAt: join.expiresAt, files: files)
    }

    /// The bundle as a file: a JSON envelope around the sealed payload.
    public func sealed(passphrase: Secret, cost: PassphraseSeal.Cost = .interactive) throws -> [UInt8] {
        try Self.check(passphrase)
        let payload = Payload(
            id: Hex.encode(id), issuedBy: issuedBy, expiresAt: expiresAt,
            files: files.mapValues { Data($0).base64EncodedString() })
        let seal = try PassphraseSeal.seal(
            Array(try Self.encoder.encode(payload)), passphrase: passphrase, context: Self.context, cost: cost)
        let envelope = Envelope(
            format: Self.context, kdf: "scrypt", log2N: seal.cost.log2N, r: seal.cost.r, p: seal.cost.p,
            salt: Hex.encode(seal.salt), sealed: Data(seal.sealed).base64EncodedString())
        return Array(try Self.encoder.encode(envelope)) + [0x0a]
    }

    /// The bundle in `bytes`, opened with `passphrase`.
    public static func open(_ bytes: [UInt8], passphrase: Secret) throws(JoinBundleError) -> JoinBundle {
        guard bytes.count <= 1 << 20, let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes)),
            envelope.format == context, envelope.kdf == "scrypt", let salt = Hex.decode(envelope.salt),
            let sealed = Data(base64Encoded: envelope.sealed)
        else { throw .unreadable("not a \(context) file") }
        let seal = PassphraseSeal(
            cost: .init(log2N: envelope.log2N, r: envelope.r, p: envelope.p), salt: salt, sealed: [UInt8](sealed))
        let plaintext: [UInt8]
        do { plaintext = try seal.open(passphrase: passphrase, context: context) } catch {
            throw seal.cost.isAcceptable
                ? .wrongPassphrase : .unreadable("its scrypt cost is outside the accepted range")
        }
        guard let payload = try? JSONDecoder.withDates.decode(Payload.self, from: Data(plaintext)),
            let id = Hex.decode(payload.id), id.count == 16
        else { throw .unreadable("its contents do not parse") }
        var files: [String: [UInt8]] = [:]
        for file in sharedFiles {
            guard let encoded = payload.files[file.rawValue], let decoded = Data(base64Encoded: encoded) else {
                throw .unreadable("it lacks \(file.rawValue)")
            }
            files[file.rawValue] = [UInt8](decoded)
        }
        return JoinBundle(id: id, issuedBy: payload.issuedBy, expiresAt: payload.expiresAt, files: files)
    }

    /// Writes the shared files into the empty state folder at `path` (keys 0600), then lets
    /// it issue what is its own: a server certificate naming `serverNames`, an operator identity.
    public func install(into path: String, serverNames: [String]) throws -> StateFolder {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let target = StateFolder(path: path)
        for file in StateFolder.File.allCases where target.exists(file) {
            throw JoinBundleError.notEmpty(path)
        }
        for file in Self.sharedFiles { try target.write(file, bytes: files[file.rawValue] ?? []) }
        return try StateFolder.initialise(at: path, serverNames: serverNames)
    }

    static func check(_ passphrase: Secret) throws(JoinBundleError) {
        guard passphrase.revealedText.count >= minimumPassphraseLength else {
            throw .passphrase("a join bundle's passphrase has at least \(minimumPassphraseLength) characters")
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// The file: what the sealed payload needs to be opened.
    private struct Envelope: Codable {
        let format: String
        let kdf: String
        let log2N: Int
        let r: Int
        let p: Int
        let salt: String
        let sealed: String
    }

    /// What is sealed.
    private struct Payload: Codable {
        let id: String
        let issuedBy: String
        let expiresAt: Date
        let files: [String: String]
    }
}

extension JSONDecoder {
    fileprivate static var withDates: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
