import Foundation
import Store
import WardenCrypto

/// What a new appliance needs to serve beside the others, sealed under a passphrase the
/// operator carries (``PassphraseSeal``: scrypt, AES-256-GCM): the keys every appliance
/// shares — server CA, client CA, release, key-encryption, image and audit signing, and the
/// Secure Boot keys when the rack has them — and the id of the join the database recorded,
/// which it spends once. Not in it: the server certificate and the local operator identity,
/// which the new appliance issues for itself from the shared CAs, naming its own addresses;
/// the database password.
public struct JoinBundle: Sendable, Equatable {
    /// The state folder's files every appliance holds the same.
    public static let sharedFiles: [StateFolder.File] = [
        .serverCA, .serverCAKey, .clientCA, .clientCAKey, .releaseKey, .releaseCertificate, .keyEncryptionKey,
        .imageSigningKey, .imageSigningCertificate, .auditKey,
    ]
    /// The state folder's files every appliance holds the same when the member has them: the
    /// Secure Boot certificates and the db key that signs what appliances serve (`warden
    /// secureboot init`), which a rack may not have, and the signed updates that enrol them,
    /// which every appliance serves. The PK's and KEK's private keys, which could replace
    /// every machine's keys, stay on the appliance that made them.
    public static let optionalSharedFiles: [StateFolder.File] = [
        .secureBootPK, .secureBootKEK, .secureBootDB, .secureBootDBKey, .secureBootExtraDB, .secureBootPKUpdate,
        .secureBootKEKUpdate, .secureBootDBUpdate,
    ]
    /// What the sealed bytes are, bound to them.
    static let context = "warden-join-bundle/1"

    public let id: [UInt8]
    public let issuedBy: String
    public let expiresAt: Date
    /// Shared files by name (``StateFolder/File`` raw values).
    public let files: [String: [UInt8]]

    /// The bundle of `state`'s shared keys for the join the store recorded.
    public static func export(from state: StateFolder, join: ApplianceJoin) throws -> JoinBundle {
        var files: [String: [UInt8]] = [:]
        for file in sharedFiles + optionalSharedFiles.filter(state.exists) {
            files[file.rawValue] = [UInt8](try Data(contentsOf: state.url(file)))
        }
        return JoinBundle(id: join.id, issuedBy: join.issuedBy, expiresAt: join.expiresAt, files: files)
    }

    /// The bundle as a file: a JSON envelope around the sealed payload.
    public func sealed(passphrase: Secret, cost: PassphraseSeal.Cost = .interactive) throws -> [UInt8] {
        let payload = Payload(
            id: Hex.encode(id), issuedBy: issuedBy, expiresAt: expiresAt,
            files: files.mapValues { Data($0).base64EncodedString() })
        return try SealedBundle.seal(
            Array(try Self.encoder.encode(payload)), format: Self.context, passphrase: passphrase, cost: cost)
    }

    /// The bundle in `bytes`, opened with `passphrase`.
    public static func open(_ bytes: [UInt8], passphrase: Secret) throws(SealedBundleError) -> JoinBundle {
        let plaintext = try SealedBundle.open(bytes, format: context, passphrase: passphrase)
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
        for file in optionalSharedFiles {
            guard let encoded = payload.files[file.rawValue] else { continue }
            guard let decoded = Data(base64Encoded: encoded) else {
                throw .unreadable("\(file.rawValue) does not decode")
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
            throw SealedBundleError.notEmpty(path)
        }
        do {
            for file in Self.sharedFiles { try target.write(file, bytes: files[file.rawValue] ?? []) }
            for file in Self.optionalSharedFiles {
                guard let bytes = files[file.rawValue] else { continue }
                try target.createFolder(of: file)
                try target.write(file, bytes: bytes)
            }
            return try StateFolder.initialise(at: path, serverNames: serverNames)
        } catch {
            target.removeKeys()
            throw error
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
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
