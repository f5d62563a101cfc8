import Foundation
import Store
import WardenCrypto

/// Why a passphrase-sealed bundle (a join bundle, a key bundle) was not made or not taken.
public enum SealedBundleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a join bundle, or is damaged.
    case unreadable(String)
    /// The passphrase does not open it (or a byte of it was changed).
    case wrongPassphrase
    /// The state folder already holds keys of its own.
    case notEmpty(String)
    case passphrase(String)

    public var description: String {
        switch self {
        case .unreadable(let why): "not a bundle Warden can read: \(why)"
        case .wrongPassphrase: "the passphrase does not open this bundle (or the bundle was changed)"
        case .notEmpty(let path):
            "\(path) holds keys already: an appliance joins with an empty state folder (its own keys would be lost)"
        case .passphrase(let why): why
        }
    }
}

/// A file sealed under a passphrase the operator carries (``PassphraseSeal``: scrypt,
/// AES-256-GCM), its format named in it and bound to the seal: join bundles, key bundles.
public enum SealedBundle {
    /// The shortest passphrase taken.
    public static let minimumPassphraseLength = 12

    /// `plaintext` sealed as a file of `format`.
    static func seal(
        _ plaintext: [UInt8], format: String, passphrase: Secret, cost: PassphraseSeal.Cost = .interactive
    ) throws -> [UInt8] {
        guard passphrase.revealedText.count >= minimumPassphraseLength else {
            throw SealedBundleError.passphrase(
                "a bundle's passphrase has at least \(minimumPassphraseLength) characters")
        }
        return try PassphraseSeal.seal(plaintext, passphrase: passphrase, context: format, cost: cost).file(
            format: format)
    }

    /// The plaintext of a file of `format` sealed under `passphrase`.
    static func open(_ bytes: [UInt8], format: String, passphrase: Secret) throws(SealedBundleError) -> [UInt8] {
        guard let seal = PassphraseSeal.read(file: bytes, format: format) else {
            throw .unreadable("not a \(format) file")
        }
        do { return try seal.open(passphrase: passphrase, context: format) } catch {
            throw seal.cost.isAcceptable
                ? .wrongPassphrase : .unreadable("its scrypt cost is outside the accepted range")
        }
    }
}

extension PassphraseSeal {
    /// The seal as a file: one JSON object naming `format` (which is also the context the
    /// seal was made with), the scrypt parameters, the salt (hex) and the sealed bytes (base64).
    func file(format: String) -> [UInt8] {
        let fields = [
            ("format", "\"\(format)\""), ("kdf", "\"scrypt\""), ("log2N", "\(cost.log2N)"), ("r", "\(cost.r)"),
            ("p", "\(cost.p)"), ("salt", "\"\(Hex.encode(salt))\""),
            ("sealed", "\"\(Data(sealed).base64EncodedString())\""),
        ]
        return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n").utf8)
    }

    /// The seal a file of `format` holds (at most 1 MiB), or nil when it is not one.
    static func read(file bytes: [UInt8], format: String) -> PassphraseSeal? {
        struct Fields: Decodable {
            let format: String
            let kdf: String
            let log2N: Int
            let r: Int
            let p: Int
            let salt: String
            let sealed: String
        }
        guard bytes.count <= 1 << 20, let fields = try? JSONDecoder().decode(Fields.self, from: Data(bytes)),
            fields.format == format, fields.kdf == "scrypt", let salt = Hex.decode(fields.salt),
            let sealed = Data(base64Encoded: fields.sealed)
        else { return nil }
        return PassphraseSeal(
            cost: Cost(log2N: fields.log2N, r: fields.r, p: fields.p), salt: salt, sealed: [UInt8](sealed))
    }

}

/// A key-encryption key on its way from the appliance that rotated it to the others.
public enum KeyBundle {
    static let format = "warden-key-bundle/1"

    /// `key` sealed under `passphrase`.
    public static func sealed(
        _ key: KeyEncryptionKey, passphrase: Secret, cost: PassphraseSeal.Cost = .interactive
    ) throws -> [UInt8] {
        try SealedBundle.seal(key.secret.revealedBytes, format: format, passphrase: passphrase, cost: cost)
    }

    /// The key a key bundle holds.
    public static func open(_ bytes: [UInt8], passphrase: Secret) throws(SealedBundleError) -> KeyEncryptionKey {
        guard
            let key = KeyEncryptionKey(
                secret: Secret(bytes: try SealedBundle.open(bytes, format: format, passphrase: passphrase)))
        else { throw .unreadable("it holds no key-encryption key") }
        return key
    }
}
