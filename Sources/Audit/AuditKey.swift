import Crypto
import Foundation
import Store
import WardenCrypto

/// The audit key (Ed25519): signs the chain's checkpoints and every export's manifest.
/// Kept in the state folder as PKCS#8 PEM (RFC 8410), which `openssl pkey` reads.
public struct AuditKey: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public static func generate() -> AuditKey { AuditKey(key: Curve25519.Signing.PrivateKey()) }

    private init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// Reads a PKCS#8 PEM Ed25519 private key.
    public init(pem: String) throws(AuditError) {
        guard let der = PEMBlock.decode(pem, label: "PRIVATE KEY"), der.count == Self.pkcs8Prefix.count + 32,
            Array(der.prefix(Self.pkcs8Prefix.count)) == Self.pkcs8Prefix,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
        else { throw AuditError.key("not an Ed25519 private key in PKCS#8 PEM") }
        self.key = key
    }

    /// Reads the key from a PEM file.
    public init(file: String) throws(AuditError) {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw AuditError.key("cannot read \(file)")
        }
        try self.init(pem: text)
    }

    /// PKCS#8 PEM.
    public var pem: String { PEMBlock.encode(Self.pkcs8Prefix + Array(key.rawRepresentation), label: "PRIVATE KEY") }

    /// The public half.
    public var publicKey: AuditPublicKey { AuditPublicKey(raw: Array(key.publicKey.rawRepresentation)) }

    /// The Ed25519 signature of `message`.
    public func sign(_ message: [UInt8]) throws -> [UInt8] { Array(try key.signature(for: message)) }

    /// A signer for the store's checkpoints, at least every `interval` records.
    public func checkpointSigner(interval: Int64) -> AuditSigner {
        AuditSigner(interval: interval) { message in try sign(message) }
    }

    private static let pkcs8Prefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]
}

/// The audit key's public half, as auditors pin it: SubjectPublicKeyInfo PEM, which
/// `openssl pkeyutl -verify -pubin -inkey` takes.
public struct AuditPublicKey: Sendable, Equatable {
    /// The 32-byte Ed25519 public key.
    public let raw: [UInt8]

    init(raw: [UInt8]) { self.raw = raw }

    /// Reads SubjectPublicKeyInfo PEM.
    public init(pem: String) throws(AuditError) {
        guard let der = PEMBlock.decode(pem, label: "PUBLIC KEY"), der.count == Self.spkiPrefix.count + 32,
            Array(der.prefix(Self.spkiPrefix.count)) == Self.spkiPrefix
        else { throw AuditError.key("not an Ed25519 public key in PEM") }
        raw = Array(der.suffix(32))
    }

    /// SubjectPublicKeyInfo DER.
    public var der: [UInt8] { Self.spkiPrefix + raw }

    /// SubjectPublicKeyInfo PEM.
    public var pem: String { PEMBlock.encode(der, label: "PUBLIC KEY") }

    /// SHA-256 of the DER SubjectPublicKeyInfo, in hex: what
    /// `openssl pkey -pubin -in audit-key.pem -outform DER | sha256sum` prints.
    public var fingerprint: String { Hex.encode(DigestAlgorithm.sha256.hash(der)) }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(signature, for: message)
    }

    private static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
}

/// One PEM block: base64 between BEGIN and END lines.
enum PEMBlock {
    static func encode(_ der: [UInt8], label: String) -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
    }

    static func decode(_ pem: String, label: String) -> [UInt8]? {
        let begin = "-----BEGIN \(label)-----", end = "-----END \(label)-----"
        guard let start = pem.range(of: begin), let stop = pem.range(of: end, range: start.upperBound..<pem.endIndex)
        else { return nil }
        let body = pem[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body)).map { [UInt8]($0) }
    }
}
