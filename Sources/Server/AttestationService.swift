import Attestation
import Foundation
import Images
import Store
import Synchronization
import TPM
import TSS
import WardenAPI
import WardenCrypto

/// The attestation flow without its transport: register an AK against an enrolled EK,
/// activate it (proof that it lives in that TPM), issue a nonce, judge a quote, and
/// release the machine's secrets only after the passing verdict is durably recorded.
/// Every refusal is audited. Calls block on the database: run them off the event loop.
public final class AttestationService: Sendable {
    private let store: EnrolmentStore
    private let releaseKey: SigningKey
    private let verifier = QuoteVerifier()
    /// Parsed policy versions by id: versions never change, so parsing once is enough.
    private let parsedPolicies = Mutex<[Int64: Policy]>([:])
    /// Endorsement keys by their marshaled public area, decoded once (a machine's EK never
    /// changes; building the RSA key is most of a release's cost).
    private let endorsementKeys = Mutex<[[UInt8]: EndorsementKey]>([:])
    /// The iPXE binaries Warden serves, by Authenticode digest: boot applications a machine's
    /// image allows in PCR 4 before the image itself.
    private let servedBootApplications: [BootReference.Measurement]

    /// The largest EK certificate a self-registering machine may send.
    public static let maxEKCertificateSize = TPMDevice.maxCertificateSize

    public init(store: EnrolmentStore, releaseKey: SigningKey, servedBootApplications: [BootReference.Measurement] = []) {
        self.store = store
        self.releaseKey = releaseKey
        self.servedBootApplications = servedBootApplications
    }

    /// A pending AK and the credential its TPM must activate.
    public struct Registration: Sendable {
        public let attestationKeyID: Int64
        public let challenge: CredentialChallenge
    }

    /// Registers the AK `akPublic` (TPM2B_PUBLIC) of the machine enrolled with `ekPublic`.
    public func register(ekPublic: [UInt8], akPublic: [UInt8]) throws(AttestationRefusal) -> Registration {
        let ek = try endorsementKey(ekPublic)
        guard let ekName = ek.tpmPublic.name, let machine = try internalStore({ try store.machine(ekName: ekName) }), machine.state != "discovered" else {
            try audit(subject: "ek/" + Hex.encode(ek.tpmPublic.name ?? []), "registration refused: EK not enrolled")
            throw AttestationRefusal(.unknownEndorsementKey, "this endorsement key is not enrolled")
        }
        guard machine.state != "revoked" else {
            try audit(subject: "machine/\(machine.id)", "registration refused: machine revoked")
            throw AttestationRefusal(.revoked, "machine \(machine.name) is revoked")
        }
        let ak: AttestationKey
        do { ak = try AttestationKey(file: akPublic) } catch {
            try audit(subject: "machine/\(machine.id)", "registration refused: \(error)")
            throw AttestationRefusal(.attestationKey, "\(error)")
        }
        guard let akName = ak.name else { throw AttestationRefusal(.attestationKey, "a TPM2B_PUBLIC is required") }
        let secret = SecureRandom.bytes(32)
        let challenge = try refuse(.internalError) { try Credential.make(secret, for: akName, to: ek) }
        let id = try internalStore { try store.registerAttestationKey(machineID: machine.id, publicArea: akPublic, name: akName, challenge: secret) }
        return Registration(attestationKeyID: id, challenge: challenge)
    }

    /// Records a machine that is not enrolled as discovered, for an operator to adopt.
    public func discover(ekPublic: [UInt8], ekCertificate: [UInt8]?) throws(AttestationRefusal) -> (id: Int64, state: String) {
        let ek = try endorsementKey(ekPublic)
        if let certificate = ekCertificate {
            // Stored with the discovered machine: bounded like the TPM's own NV index.
            guard certificate.count <= Self.maxEKCertificateSize else {
                throw AttestationRefusal(.unknownEndorsementKey, "an EK certificate of \(certificate.count) bytes is larger than \(Self.maxEKCertificateSize)")
            }
            let certified = try refuse(.unknownEndorsementKey) { try EndorsementKey(file: certificate) }
            guard certified.tpmPublic.name == ek.tpmPublic.name else {
                try audit(subject: "ek/" + Hex.encode(ek.tpmPublic.name ?? []), "discovery refused: the certificate is for another key")
                throw AttestationRefusal(.unknownEndorsementKey, "the EK certificate does not certify this endorsement key")
            }
        }
        guard let name = ek.tpmPublic.name else { throw AttestationRefusal(.unknownEndorsementKey, "the EK has no name") }
        do throws(StoreError) { return try store.discover(ekPublic: ek.tpmPublic.marshaled, ekName: name, ekCertificate: ekCertificate) } catch {
            if case .limit = error { throw AttestationRefusal(.limit, error.description) }
            throw AttestationRefusal(.internalError, "store: \(error)")
        }
    }

    /// Activates the AK when `proof` is what its TPM's ActivateCredential returned.
    public func activate(attestationKeyID: Int64, proof: [UInt8]) throws(AttestationRefusal) {
        let activated: Bool
        do throws(StoreError) { activated = try store.activateAttestationKey(id: attestationKeyID, proof: proof) } catch {
            if case .notFound = error { throw AttestationRefusal(.notActivated, "no pending attestation key \(attestationKeyID)") }
            throw AttestationRefusal(.internalError, "store: \(error)")
        }
        guard activated else {
            try audit(subject: "attestation-key/\(attestationKeyID)", "activation refused: wrong credential")
            throw AttestationRefusal(.activation, "the credential was not recovered: this AK is not in the enrolled TPM")
        }
    }

    /// A fresh nonce for a quote by an activated AK of a machine that is not revoked.
    public func challenge(attestationKeyID: Int64) throws(AttestationRefusal) -> [UInt8] {
        let issue: NonceIssue
        do throws(StoreError) { issue = try store.issueNonce(attestationKeyID: attestationKeyID) } catch {
            if case .limit = error { throw AttestationRefusal(.limit, error.description) }
            throw AttestationRefusal(.internalError, "store: \(error)")
        }
        switch issue {
        case .issued(let nonce): return nonce
        case .unknownKey: throw try refusedUnknownKey(attestationKeyID)
        case .notActivated(let machineID): throw try refusedUnactivatedKey(attestationKeyID, machineID: machineID)
        case .revoked(let machineID):
            try audit(subject: "machine/\(machineID)", "challenge refused: machine revoked")
            throw AttestationRefusal(.revoked, "this machine is revoked")
        }
    }

    /// Judges a quote; on a pass, records it (durably, with its audit record and the nonce
    /// consumed) and only then returns the machine's release. Every refusal is recorded too.
    public func attest(
        attestationKeyID: Int64, nonce: [UInt8], attest: [UInt8], signature: [UInt8], pcrs: PCRValues, eventLog: [UInt8]?
    ) throws(AttestationRefusal) -> SealedRelease {
        guard nonce.count == EnrolmentStore.nonceSize else { throw AttestationRefusal(.nonce, "a nonce is \(EnrolmentStore.nonceSize) bytes, not \(nonce.count)") }
        guard let context = try internalStore({ try store.attestationContext(attestationKeyID: attestationKeyID, nonce: nonce) }) else {
            throw try refusedUnknownKey(attestationKeyID)
        }
        let key = context.key
        let subject = "machine/\(key.machineID)"
        guard key.activated else { throw try refusedUnactivatedKey(attestationKeyID, machineID: key.machineID) }
        guard context.machineState != "revoked" else {
            try audit(subject: subject, "attestation refused: machine revoked")
            throw AttestationRefusal(.revoked, "machine \(context.machineName) is revoked")
        }
        if let problem = context.nonceProblem {
            try audit(subject: subject, "attestation refused: \(problem)")
            throw AttestationRefusal(.nonce, problem.description)
        }
        let expectation = try refuse(.nonce) { try QuoteExpectation(nonce: nonce) }
        let pcrBytes = try refuse(.evidence) { try TPM2ToolsPCRFile.serialize(pcrs) }
        let evidence = QuoteEvidence(attestationKey: key.publicArea, attest: attest, signature: signature, pcrs: .values(pcrs), eventLog: eventLog)
        /// Set once the quote verified while legacy boots wait: binds them to this boot.
        var legacyBoot: LegacyBootBinding?
        func keep(passed: Bool, reasons: [String], policyID: Int64? = nil, pin: PolicyPin? = nil, clock: TPMAttest.ClockInfo? = nil,
                  boot: BootReference = BootReference()) throws(AttestationRefusal) {
            let outcome = AttestationOutcome(
                machineID: key.machineID, attestationKeyID: key.id, attestationKeyPublic: key.publicArea, nonce: nonce, attest: attest, signature: signature,
                pcrs: pcrBytes, eventLog: eventLog, passed: passed, reasons: reasons, policyID: policyID, clock: clock,
                bootReference: boot == BootReference() ? nil : boot.json, legacyBoot: legacyBoot)
            do throws(StoreError) { try store.record(outcome, pinning: pin, actor: "machine/\(context.machineName)") } catch {
                // Another request consumed the nonce meanwhile: this one is a replay.
                if case .nonce = error {
                    try audit(subject: subject, "attestation refused: \(error)")
                    throw AttestationRefusal(.nonce, error.description)
                }
                throw AttestationRefusal(.internalError, "store: \(error)")
            }
        }
        let verdict = verifier.verify(evidence, expecting: expectation)
        guard case .verified(let quote) = verdict else {
            let failures = verdict.failures.map(\.description)
            try keep(passed: false, reasons: failures)
            throw AttestationRefusal(.evidence, failures.joined(separator: "; "))
        }
        if context.legacyBootsPending > 0 { legacyBoot = LegacyBootBinding(resetCount: quote.clockInfo.resetCount, seen: context.legacyBootsPending) }
        if let violation = ClockMonotonicity.violation(last: context.lastClock, current: quote.clockInfo) {
            try keep(passed: false, reasons: [violation])
            throw AttestationRefusal(.counters, violation)
        }
        let unmeasured = BootReference.unmeasuredReason(legacyBoot: context.isLegacyBoot(resetCount: quote.clockInfo.resetCount), quote: quote)
        if let name = context.policyName {
            guard let version = context.policy else {
                try keep(passed: false, reasons: ["the machine's policy \(name) does not exist"])
                throw AttestationRefusal(.policy, "the machine's policy \(name) does not exist")
            }
            let policy: Policy
            do { policy = try parsed(version) } catch {
                // A stored version a newer Warden reads more strictly: refused, and recorded.
                try keep(passed: false, reasons: [error.detail], policyID: version.id)
                throw error
            }
            var boot = BootReference(unmeasured: unmeasured)
            if policy.image == .required, let image = try internalStore({ try store.image(ofMachine: key.machineID) }) {
                guard let reference = image.bootReference(firmware: servedBootApplications) else {
                    let why = image.unmeasuredReason
                    try keep(passed: false, reasons: [why], policyID: version.id)
                    throw AttestationRefusal(.policy, why)
                }
                boot.image = reference
            }
            let failures = policy.failures(of: quote, boot: boot).map(\.description)
            try keep(passed: failures.isEmpty, reasons: failures, policyID: version.id, clock: failures.isEmpty ? quote.clockInfo : nil, boot: boot)
            guard failures.isEmpty else { throw AttestationRefusal(.policy, failures.joined(separator: "; ")) }
        } else if let unmeasured {
            // Trust on first use pins what was measured; a boot that measured no kernel
            // proves nothing worth pinning, and only a policy may allow it.
            let why = "\(unmeasured); with no policy, unmeasured boots are refused"
            try keep(passed: false, reasons: [why], boot: BootReference(unmeasured: unmeasured))
            throw AttestationRefusal(.policy, why)
        } else {
            let pinned: Policy
            do { pinned = try Policy.pinning(quote, name: Self.machinePolicyName(context.machineName)) } catch {
                try keep(passed: false, reasons: [error.description])
                throw AttestationRefusal(.policy, error.description)
            }
            try keep(passed: true, reasons: [], pin: PolicyPin(name: pinned.name, yaml: pinned.yaml), clock: quote.clockInfo)
        }
        return try release(machineID: key.machineID, machineName: context.machineName, ekPublic: context.ekPublic, akName: key.name)
    }

    private func cachedEndorsementKey(_ ekPublic: [UInt8]) throws -> EndorsementKey {
        if let cached = endorsementKeys.withLock({ $0[ekPublic] }) { return cached }
        let key = try EndorsementKey(file: ekPublic)
        endorsementKeys.withLock { cache in
            if cache.count >= 16_384 { cache.removeAll() }
            cache[ekPublic] = key
        }
        return key
    }

    /// The policy of `version`, parsed once.
    private func parsed(_ version: PolicyVersion) throws(AttestationRefusal) -> Policy {
        if let cached = parsedPolicies.withLock({ $0[version.id] }) { return cached }
        let policy = try refuse(.policy) { try Policy(yaml: version.yaml) }
        parsedPolicies.withLock { cache in
            if cache.count >= 4_096 { cache.removeAll() }
            cache[version.id] = policy
        }
        return policy
    }

    /// The name of the policy a machine's own evidence pins (trust on first use, approvals).
    static func machinePolicyName(_ machineName: String) -> String {
        String(("machine-" + machineName.lowercased().filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }).prefix(64))
    }

    /// The machine's secrets, sealed for its AK and signed.
    private func release(machineID: Int64, machineName: String, ekPublic: [UInt8], akName: [UInt8]) throws(AttestationRefusal) -> SealedRelease {
        let secrets = try internalStore { try store.releaseSecrets(machineID: machineID) }
        let join = secrets.join.map {
            JoinConfiguration(server: $0.serverURL, token: $0.token, role: $0.role.rawValue, nodeName: machineName, labels: $0.labels)
        }
        let payload = ReleasePayload(nodeName: machineName, diskKey: Base64.encode(secrets.diskKey), join: join)
        return try refuse(.internalError) {
            try SealedRelease.seal(try JSONEncoder().encode(payload).map { $0 }, for: akName, under: cachedEndorsementKey(ekPublic), releaseKey: releaseKey)
        }
    }

    private func endorsementKey(_ bytes: [UInt8]) throws(AttestationRefusal) -> EndorsementKey {
        do { return try EndorsementKey(file: bytes) } catch {
            try audit(subject: "ek/unreadable", "request refused: \(error)")
            throw AttestationRefusal(.unknownEndorsementKey, error.description)
        }
    }

    private func refusedUnknownKey(_ id: Int64) throws(AttestationRefusal) -> AttestationRefusal {
        try audit(subject: "attestation-key/\(id)", "refused: unknown attestation key")
        return AttestationRefusal(.notActivated, "unknown attestation key")
    }

    private func refusedUnactivatedKey(_ id: Int64, machineID: Int64) throws(AttestationRefusal) -> AttestationRefusal {
        try audit(subject: "machine/\(machineID)", "refused: attestation key \(id) was never activated")
        return AttestationRefusal(.notActivated, "the attestation key was never activated")
    }

    private func audit(subject: String, _ details: String) throws(AttestationRefusal) {
        try internalStore { try store.auditRefusal(actor: "agent", subject: subject, details: details) }
    }

    private func refuse<T>(_ reason: AttestationRefusal.Reason, _ body: () throws -> T) throws(AttestationRefusal) -> T {
        do { return try body() } catch { throw AttestationRefusal(reason, "\(error)") }
    }

    private func internalStore<T>(_ body: () throws -> T) throws(AttestationRefusal) -> T {
        do { return try body() } catch { throw AttestationRefusal(.internalError, "store: \(error)") }
    }
}
