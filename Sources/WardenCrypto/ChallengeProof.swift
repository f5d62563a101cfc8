import Octets

/// What an agent shows to be given a nonce: proof that it holds the secret its TPM recovered
/// when its attestation key was activated (TPM2_ActivateCredential), so that nobody who only
/// knows or guesses a key's id can take its machine's nonces. The store keeps that secret's
/// SHA-256 only; the proof is an HMAC keyed by that digest, so every appliance sharing the
/// store can check it, over whichever connection the agent comes back on.
public enum ChallengeProof {
    /// What the proof authenticates, besides the key's id: a label that gives it one use.
    private static let label = Array("warden challenge proof v1".utf8)

    /// The proof for attestation key `id`, from the secret its TPM recovered.
    public static func make(activationSecret: [UInt8], attestationKeyID id: Int64) -> [UInt8] {
        make(activationDigest: DigestAlgorithm.sha256.hash(activationSecret), attestationKeyID: id)
    }

    /// The proof for attestation key `id`, from the digest of its activation secret.
    public static func make(activationDigest: [UInt8], attestationKeyID id: Int64) -> [UInt8] {
        HMAC.authenticate(label + BigEndian.bytes(UInt64(bitPattern: id)), key: activationDigest, digest: .sha256)
    }

    /// Whether `proof` is attestation key `id`'s, compared in constant time.
    public static func isValid(_ proof: [UInt8], activationDigest: [UInt8], attestationKeyID id: Int64) -> Bool {
        ConstantTime.equals(proof, make(activationDigest: activationDigest, attestationKeyID: id))
    }
}
