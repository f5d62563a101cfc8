import COpenSSL

/// Seals bytes under a passphrase a person carries: scrypt (RFC 7914) stretches the
/// passphrase with a random salt into an AES-256-GCM key, and the parameters and salt are
/// bound to the ciphertext as associated data, so none of them can be changed unnoticed.
public struct PassphraseSeal: Sendable, Equatable {
    /// scrypt's cost parameters: `2^log2N` iterations of blocks `r`, `p` lanes.
    public struct Cost: Sendable, Equatable {
        public let log2N: Int
        public let r: Int
        public let p: Int

        public init(log2N: Int, r: Int, p: Int) {
            self.log2N = log2N
            self.r = r
            self.p = p
        }

        /// 2^17 × 8: 128 MiB and about half a second per guess on one core of this appliance.
        public static let interactive = Cost(log2N: 17, r: 8, p: 1)

        /// Whether an opener spends this much: at most 2^18 × 16 × 4 (so that a crafted file
        /// cannot exhaust memory), at least 2^14 × 1 × 1. A weaker cost than the seal was
        /// made with cannot be substituted: the cost is bound to the ciphertext.
        public var isAcceptable: Bool { (14...18).contains(log2N) && (1...16).contains(r) && (1...4).contains(p) }

        /// The memory scrypt needs, with room for OpenSSL's own.
        var memory: UInt64 { 128 * UInt64(r) * (UInt64(1) << log2N) * UInt64(p) + (16 << 20) }
    }

    public let cost: Cost
    public let salt: [UInt8]
    /// nonce ‖ ciphertext ‖ tag (``AESGCM``).
    public let sealed: [UInt8]

    public init(cost: Cost, salt: [UInt8], sealed: [UInt8]) {
        self.cost = cost
        self.salt = salt
        self.sealed = sealed
    }

    /// Seals `plaintext` under `passphrase`, with `context` (what the bytes are) bound to it.
    public static func seal(
        _ plaintext: [UInt8], passphrase: Secret, context: String, cost: Cost = .interactive
    ) throws(OpenSSLError) -> PassphraseSeal {
        let salt = SecureRandom.bytes(16)
        let key = try derive(passphrase, salt: salt, cost: cost)
        return PassphraseSeal(
            cost: cost, salt: salt,
            sealed: try AESGCM.seal(plaintext, key: key, associatedData: associatedData(context, cost, salt)))
    }

    /// The plaintext; throws when the passphrase, the context or any byte differs, or when
    /// the cost is outside what an opener spends.
    public func open(passphrase: Secret, context: String) throws(OpenSSLError) -> [UInt8] {
        guard cost.isAcceptable else {
            throw OpenSSLError("open a passphrase seal: its scrypt cost is outside the accepted range")
        }
        let key = try Self.derive(passphrase, salt: salt, cost: cost)
        return try AESGCM.open(sealed, key: key, associatedData: Self.associatedData(context, cost, salt))
    }

    private static func associatedData(_ context: String, _ cost: Cost, _ salt: [UInt8]) -> [UInt8] {
        Array("\(context)\0scrypt \(cost.log2N) \(cost.r) \(cost.p)\0".utf8) + salt
    }

    private static func derive(_ passphrase: Secret, salt: [UInt8], cost: Cost) throws(OpenSSLError) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: AESGCM.keySize)
        let derived = passphrase.revealedBytes.withUnsafeBufferPointer { pass in
            EVP_PBE_scrypt(
                pass.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, pass.count, salt,
                salt.count, UInt64(1) << cost.log2N, UInt64(cost.r), UInt64(cost.p), cost.memory, &key, key.count)
        }
        guard derived == 1 else { throw OpenSSLError("derive a key from the passphrase (scrypt)") }
        return key
    }
}
