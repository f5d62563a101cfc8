import WardenCrypto

/// The admin API's request bodies (JSON), under /v1/admin. Listings answer with the
/// store's summaries, which never carry a secret.
public enum AdminMessages {
    /// POST /v1/admin/machines: enrol by EK file, or adopt a discovered machine.
    public struct EnrollRequest: Codable, Sendable {
        public var name: String
        /// The EK file as given (TPM2B_PUBLIC, PEM public key, or EK certificate DER/PEM), base64.
        public var ek: String?
        /// The id of a machine that registered itself (`warden-agent register`).
        public var discoveredID: Int64?
        public var macs: [String]
        public var uuid: String?
        public var cluster: String?
        public var role: String?
        public var policy: String?
        public var labels: [String]
        /// The catalogue image it network-boots.
        public var image: String?

        public init(
            name: String, ek: String?, discoveredID: Int64?, macs: [String], uuid: String?, cluster: String?,
            role: String?, policy: String?, labels: [String],
            image: String? = nil
        ) {
            self.name = name
            self.ek = ek
            self.discoveredID = discoveredID
            self.macs = macs
            self.uuid = uuid
            self.cluster = cluster
            self.role = role
            self.policy = policy
            self.labels = labels
            self.image = image
        }
    }

    /// GET /v1/admin/machines/{name}/learned-policy?name=POLICY&attestation=ID&follow-image=true
    public struct LearnedPolicy: Codable, Sendable {
        /// The attestation it was learned from.
        public var attestationID: Int64
        public var yaml: String
        public init(attestationID: Int64, yaml: String) {
            self.attestationID = attestationID
            self.yaml = yaml
        }
    }

    /// POST /v1/admin/machines/{name}/image
    public struct ImageAssignment: Codable, Sendable {
        /// The image to boot; nil: none.
        public var image: String?
        public init(image: String?) { self.image = image }
    }

    /// POST /v1/admin/machines/{name}/approve
    public struct ApproveRequest: Codable, Sendable {
        /// The refused attestation whose evidence becomes the pinned policy (default: the latest).
        public var attestationID: Int64?
        public init(attestationID: Int64?) { self.attestationID = attestationID }
    }

    /// POST /v1/admin/clusters
    public struct ClusterRequest: Codable, Sendable {
        public var name: String
        /// The K3s server machines join (https://HOST:6443).
        public var k3sServer: String
        /// K3s secure token (`K10<CA hash>::<user>:<password>`).
        public var token: Secret
        public var agentToken: Secret?
        public init(name: String, k3sServer: String, token: Secret, agentToken: Secret?) {
            self.name = name
            self.k3sServer = k3sServer
            self.token = token
            self.agentToken = agentToken
        }
    }

    /// POST /v1/admin/policies
    public struct PolicyRequest: Codable, Sendable {
        public var yaml: String
        /// Check the policy and compare it with the latest version, storing nothing.
        public var dryRun: Bool?
        public init(yaml: String, dryRun: Bool = false) {
            self.yaml = yaml
            self.dryRun = dryRun
        }
    }

    /// What POST /v1/admin/policies did, or would do on a dry run.
    public struct PolicyApplied: Codable, Sendable {
        public enum Outcome: String, Codable, Sendable {
            /// A new version was stored (`policy`).
            case stored
            /// The latest version (`policy`) has the same rules: nothing was stored.
            case unchanged
            /// A dry run: version `policy.version` would be stored.
            case wouldStore
        }
        public var outcome: Outcome
        /// The version stored, kept, or that would be stored (its id 0 on a dry run).
        public var policy: PolicyVersion
        /// The latest version before this call, nil for a new name.
        public var previous: PolicyVersion?
        public init(outcome: Outcome, policy: PolicyVersion, previous: PolicyVersion?) {
            self.outcome = outcome
            self.policy = policy
            self.previous = previous
        }
    }

    /// POST /v1/admin/operators
    public struct OperatorRequest: Codable, Sendable {
        public var name: String
        /// `operator` or `auditor`.
        public var role: String
        public init(name: String, role: String) {
            self.name = name
            self.role = role
        }
    }

    /// A newly issued client identity: certificate and key (PEM), and the server CA to trust.
    public struct IssuedIdentity: Codable, Sendable {
        public var certificate: String
        public var key: String
        public var serverCA: String
        public init(certificate: String, key: String, serverCA: String) {
            self.certificate = certificate
            self.key = key
            self.serverCA = serverCA
        }
    }

    /// The audit chain's public key, which an auditor pins with `warden audit verify --key`.
    public struct AuditKey: Codable, Sendable {
        /// SubjectPublicKeyInfo, PEM.
        public var pem: String
        /// SHA-256 of the DER SubjectPublicKeyInfo, hex: what `audit verify` prints.
        public var fingerprint: String
        public init(pem: String, fingerprint: String) {
            self.pem = pem
            self.fingerprint = fingerprint
        }
    }

    /// GET /v1/admin/whoami: the certificate's holder.
    public struct Caller: Codable, Sendable, Equatable {
        public var name: String
        /// `operator` or `auditor`.
        public var role: String
        /// The certificate's serial (hex).
        public var serial: String
        public init(name: String, role: String, serial: String) {
            self.name = name
            self.role = role
            self.serial = serial
        }
    }

    /// What a change did, in one line.
    public struct Done: Codable, Sendable {
        public var message: String
        public init(message: String) { self.message = message }
    }
}
