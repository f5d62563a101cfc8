import Foundation

/// The agent API's bodies (JSON). Binary fields are base64 of the TPM structures in their
/// marshaled form, so any TPM software stack can produce them.
public enum AgentMessages {
    /// POST /v1/agent/register
    public struct RegisterRequest: Codable, Sendable {
        /// TPM2B_PUBLIC of the EK.
        public var ekPublic: String
        /// TPM2B_PUBLIC of the AK.
        public var akPublic: String
        public init(ekPublic: String, akPublic: String) {
            self.ekPublic = ekPublic
            self.akPublic = akPublic
        }
    }

    /// The credential challenge the agent's TPM must activate.
    public struct RegisterResponse: Codable, Sendable {
        public var attestationKeyID: Int64
        /// TPM2B_ID_OBJECT.
        public var credentialBlob: String
        /// TPM2B_ENCRYPTED_SECRET.
        public var encryptedSecret: String
    }

    /// POST /v1/agent/activate
    public struct ActivateRequest: Codable, Sendable {
        public var attestationKeyID: Int64
        /// What TPM2_ActivateCredential returned.
        public var proof: String
    }

    /// The AK is bound to the machine: its quotes now count.
    public struct ActivateResponse: Codable, Sendable {
        public var attestationKeyID: Int64
        public var activated: Bool
    }

    /// POST /v1/agent/challenge
    public struct ChallengeRequest: Codable, Sendable {
        public var attestationKeyID: Int64
    }

    public struct ChallengeResponse: Codable, Sendable {
        /// 32 bytes, single use, valid 60 s.
        public var nonce: String
    }

    /// POST /v1/agent/attest
    public struct AttestRequest: Codable, Sendable {
        public var attestationKeyID: Int64
        public var nonce: String
        /// TPMS_ATTEST as the TPM signed it.
        public var attest: String
        /// TPMT_SIGNATURE.
        public var signature: String
        /// PCR values in tpm2-tools' serialized format (`tpm2_quote -o`).
        public var pcrs: String
        /// The firmware event log, if any.
        public var eventLog: String?
    }

    /// The release: open the credential with TPM2_ActivateCredential, check the signature
    /// with the release key, then decrypt the payload.
    public struct ReleaseResponse: Codable, Sendable {
        public var credentialBlob: String
        public var encryptedSecret: String
        public var ciphertext: String
        /// ECDSA P-256 (DER) by the release key.
        public var signature: String
    }

    /// Any refusal: a short reason for the agent; the full one is in the audit log.
    public struct Refusal: Codable, Sendable {
        public var error: String
        public var reason: String
    }
}
