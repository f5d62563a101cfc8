/// The agent API's bodies (JSON). Binary fields are base64 of the TPM structures in their
/// marshaled form, so any TPM software stack can produce them.
public enum AgentMessages {
    /// The kernel parameter Warden adds to a legacy BIOS boot's command line, which the
    /// machine's agent reports with its attestation (``AttestRequest/legacyBIOS``).
    public static let legacyBIOSBootParameter = "warden.boot=legacy-bios"

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

    /// POST /v1/agent/discover: an unknown machine announces its EK for an operator to adopt.
    public struct DiscoverRequest: Codable, Sendable {
        /// TPM2B_PUBLIC of the EK.
        public var ekPublic: String
        /// The EK certificate (DER) from the TPM's NV, when it has one.
        public var ekCertificate: String?
        public init(ekPublic: String, ekCertificate: String?) {
            self.ekPublic = ekPublic
            self.ekCertificate = ekCertificate
        }
    }

    /// The id an operator adopts the machine by (`warden machine enroll NAME --discovered ID`).
    public struct DiscoverResponse: Codable, Sendable {
        public var machineID: Int64
        public var state: String
        public init(machineID: Int64, state: String) {
            self.machineID = machineID
            self.state = state
        }
    }

    /// The credential challenge the agent's TPM must activate, and the registration to
    /// hand back with what it recovers.
    public struct RegisterResponse: Codable, Sendable {
        /// The registration, signed by the server: opaque to the agent.
        public var registration: String
        /// TPM2B_ID_OBJECT.
        public var credentialBlob: String
        /// TPM2B_ENCRYPTED_SECRET.
        public var encryptedSecret: String
        public init(registration: String, credentialBlob: String, encryptedSecret: String) {
            self.registration = registration
            self.credentialBlob = credentialBlob
            self.encryptedSecret = encryptedSecret
        }
    }

    /// POST /v1/agent/activate
    public struct ActivateRequest: Codable, Sendable {
        /// What ``RegisterResponse/registration`` said.
        public var registration: String
        /// What TPM2_ActivateCredential returned.
        public var proof: String
        public init(registration: String, proof: String) {
            self.registration = registration
            self.proof = proof
        }
    }

    /// The AK is bound to the machine: its quotes now count.
    public struct ActivateResponse: Codable, Sendable {
        public var attestationKeyID: Int64
        public var activated: Bool
        public init(attestationKeyID: Int64, activated: Bool) {
            self.attestationKeyID = attestationKeyID
            self.activated = activated
        }
    }

    /// POST /v1/agent/challenge
    public struct ChallengeRequest: Codable, Sendable, Equatable {
        public var attestationKeyID: Int64
        /// HMAC-SHA256, keyed by the SHA-256 of the secret the TPM recovered at activation,
        /// of "warden challenge proof v1" and the key's id (8 bytes, big-endian): only the
        /// machine can ask for its nonces (WardenCrypto's `ChallengeProof`).
        public var proof: String
        public init(attestationKeyID: Int64, proof: String) {
            self.attestationKeyID = attestationKeyID
            self.proof = proof
        }
    }

    public struct ChallengeResponse: Codable, Sendable {
        /// 32 bytes, single use, valid 60 s.
        public var nonce: String
        public init(nonce: String) {
            self.nonce = nonce
        }
    }

    /// POST /v1/agent/attest
    public struct AttestRequest: Codable, Sendable, Equatable {
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
        /// True when the kernel command line says Warden booted the machine by legacy BIOS
        /// (`warden.boot=legacy-bios`): its firmware measured neither kernel nor initrd.
        public var legacyBIOS: Bool?
        public init(
            attestationKeyID: Int64, nonce: String, attest: String, signature: String, pcrs: String, eventLog: String?,
            legacyBIOS: Bool? = nil
        ) {
            self.attestationKeyID = attestationKeyID
            self.nonce = nonce
            self.attest = attest
            self.signature = signature
            self.pcrs = pcrs
            self.eventLog = eventLog
            self.legacyBIOS = legacyBIOS
        }
    }

    /// The release: check the certificate chains to Warden's server CA and is for release
    /// signing, check the signature with its key, open the credential with
    /// TPM2_ActivateCredential, then decrypt the payload (a ``ReleasePayload``).
    public struct ReleaseResponse: Codable, Sendable {
        public var credentialBlob: String
        public var encryptedSecret: String
        public var ciphertext: String
        /// ECDSA P-256 (DER) by the release key.
        public var signature: String
        /// The release key's certificate (PEM), issued by the server CA.
        public var releaseCertificate: String
        public init(
            credentialBlob: String, encryptedSecret: String, ciphertext: String, signature: String,
            releaseCertificate: String
        ) {
            self.credentialBlob = credentialBlob
            self.encryptedSecret = encryptedSecret
            self.ciphertext = ciphertext
            self.signature = signature
            self.releaseCertificate = releaseCertificate
        }
    }

    /// Any refusal: a short reason for the agent; the full one is in the audit log.
    public struct Refusal: Codable, Sendable {
        public var error: String
        public var reason: String
        public init(error: String, reason: String) {
            self.error = error
            self.reason = reason
        }
    }
}
