#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The agent API's bodies for enrolling the rack's Secure Boot keys in a machine's firmware
/// (`warden-agent secureboot-enrol`). The updates are public data, but the agent writes only
/// what Warden's release key signed: ``Updates`` travel as the exact bytes signed.
public enum SecureBootEnrolmentMessages {
    /// What the release key's signature covers besides the payload, so that no other
    /// signature of the release key (a release's) can pass for one of these.
    public static let signingContext = Array("warden secure boot enrolment v1\0".utf8)

    /// How long a signed set of updates may be reported as written, in seconds.
    public static let reportWindow: TimeInterval = 3_600

    /// POST /v1/agent/secureboot/enrol: a machine whose firmware is in setup mode asks for
    /// the rack's PK, KEK and db.
    public struct Request: Codable, Sendable {
        /// TPM2B_PUBLIC of the EK: the machine, as `discover` records it.
        public var ekPublic: String
        /// The EK certificate (DER) from the TPM's NV, when it has one.
        public var ekCertificate: String?
        /// The firmware's event log: its PCR 7 must show no PK and no KEK.
        public var eventLog: String
        /// What the firmware's SetupMode variable said.
        public var setupMode: Bool

        public init(ekPublic: String, ekCertificate: String?, eventLog: String, setupMode: Bool) {
            self.ekPublic = ekPublic
            self.ekCertificate = ekCertificate
            self.eventLog = eventLog
            self.setupMode = setupMode
        }
    }

    /// One variable's authenticated update, as the firmware takes it (EFI_TIME,
    /// WIN_CERTIFICATE_UEFI_GUID with the PKCS#7 signature, the EFI signature list).
    public struct VariableUpdate: Codable, Sendable, Equatable {
        /// PK, KEK or db.
        public var name: String
        /// The update's bytes (base64).
        public var update: String

        public init(name: String, update: String) {
            self.name = name
            self.update = update
        }
    }

    /// What the release key signs: the updates for one machine, in the order to write them
    /// (db, KEK, then PK, whose write ends setup mode).
    public struct Updates: Codable, Sendable, Equatable {
        public var machineID: Int64
        public var variables: [VariableUpdate]
        public var issuedAt: Date

        public init(machineID: Int64, variables: [VariableUpdate], issuedAt: Date) {
            self.machineID = machineID
            self.variables = variables
            self.issuedAt = issuedAt
        }
    }

    /// The signed updates: `payload` is base64 of ``Updates``' JSON, `signature` the release
    /// key's ECDSA signature (DER, base64) of SHA-256(``signingContext`` + those bytes).
    public struct SignedUpdates: Codable, Sendable {
        public var payload: String
        public var signature: String
        public var releaseCertificate: String

        public init(payload: String, signature: String, releaseCertificate: String) {
            self.payload = payload
            self.signature = signature
            self.releaseCertificate = releaseCertificate
        }
    }

    /// POST /v1/agent/secureboot/enrolled: what the agent wrote, with the signed updates it
    /// wrote them from (which only Warden could have signed, for this machine).
    public struct Report: Codable, Sendable {
        public var payload: String
        public var signature: String
        /// Variable → SHA-256 (hex) of the update written; only those the firmware took.
        public var written: [String: String]
        /// Why the agent stopped before writing them all; nil when it wrote them all.
        public var problem: String?

        public init(payload: String, signature: String, written: [String: String], problem: String?) {
            self.payload = payload
            self.signature = signature
            self.written = written
            self.problem = problem
        }
    }

    /// POST /v1/agent/secureboot/refused: the agent refused what it was sent.
    public struct Refusal: Codable, Sendable {
        public var ekPublic: String
        public var reason: String

        public init(ekPublic: String, reason: String) {
            self.ekPublic = ekPublic
            self.reason = reason
        }
    }

    /// The answer to a report or a refusal: the machine it was recorded for.
    public struct Recorded: Codable, Sendable {
        public var machineID: Int64

        public init(machineID: Int64) { self.machineID = machineID }
    }
}
