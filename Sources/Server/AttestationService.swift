import Attestation
import Foundation
import Store
import TPM
import TSS
import WardenCrypto

/// The attestation flow without its transport: register an AK against an enrolled EK,
/// activate it (proof that it lives in that TPM), issue a nonce, judge a quote, and
/// release the machine's secrets only after the passing verdict is durably recorded.
public final class AttestationService: Sendable {
    private let store: EnrolmentStore
    private let releaseKey: SigningKey
    private let verifier = QuoteVerifier()

    public init(store: EnrolmentStore, releaseKey: SigningKey) {
        self.store = store
        self.releaseKey = releaseKey
    }

    /// A pending AK and the credential its TPM must activate.
    public struct Registration: Sendable {
        public let attestationKeyID: Int64
        public let challenge: CredentialChallenge
    }

    /// Registers the AK `akPublic` (TPM2B_PUBLIC) of the machine enrolled with `ekPublic`.
    public func register(ekPublic: [UInt8], akPublic: [UInt8]) throws(AttestationRefusal) -> Registration {
        let ek = try refuse(.unknownEndorsementKey) { try EndorsementKey(file: ekPublic) }
        guard let ekName = ek.tpmPublic?.name, let machine = try internalStore({ try store.machine(ekName: ekName) }) else {
            try audit(subject: "ek/" + Hex.encode(ek.tpmPublic?.name ?? []), "registration refused: EK not enrolled")
            throw AttestationRefusal(.unknownEndorsementKey, "this endorsement key is not enrolled")
        }
        guard machine.state != "revoked" else {
            try audit(subject: "machine/\(machine.id)", "registration refused: machine revoked")
            throw AttestationRefusal(.revoked, "machine \(machine.name) is revoked")
        }
        let ak = try refuse(.attestationKey) { try AttestationKey(file: akPublic) }
        guard let akName = ak.name else { throw AttestationRefusal(.attestationKey, "a TPM2B_PUBLIC is required") }
        let secret = SecureRandom.bytes(32)
        let challenge = try refuse(.internalError) { try Credential.make(secret, for: akName, to: ek) }
        let id = try internalStore { try store.registerAttestationKey(machineID: machine.id, publicArea: akPublic, name: akName, challenge: secret) }
        return Registration(attestationKeyID: id, challenge: challenge)
    }

    /// Activates the AK when `proof` is what its TPM's ActivateCredential returned.
    public func activate(attestationKeyID: Int64, proof: [UInt8]) throws(AttestationRefusal) {
        guard try internalStore({ try store.activateAttestationKey(id: attestationKeyID, proof: proof) }) else {
            try audit(subject: "attestation-key/\(attestationKeyID)", "activation refused: wrong credential")
            throw AttestationRefusal(.activation, "the credential was not recovered: this AK is not in the enrolled TPM")
        }
    }

    /// A fresh nonce for a quote by an activated AK.
    public func challenge(attestationKeyID: Int64) throws(AttestationRefusal) -> [UInt8] {
        let key = try activatedKey(attestationKeyID)
        return try internalStore { try store.issueNonce(machineID: key.machineID) }
    }

    /// Judges a quote; on a pass, records it (durably, with its audit record) and only then
    /// returns the machine's release. Every refusal is recorded too.
    public func attest(
        attestationKeyID: Int64, nonce: [UInt8], attest: [UInt8], signature: [UInt8], pcrs: PCRValues, eventLog: [UInt8]?
    ) throws(AttestationRefusal) -> SealedRelease {
        let key = try activatedKey(attestationKeyID)
        let machine = try internalStore { try store.machine(id: key.machineID) }
        guard machine.state != "revoked" else { throw AttestationRefusal(.revoked, "machine \(machine.name) is revoked") }
        do { try store.consumeNonce(nonce, machineID: key.machineID) } catch {
            try audit(subject: "machine/\(key.machineID)", "attestation refused: \(error)")
            throw AttestationRefusal(.nonce, error.description)
        }
        let evidence = QuoteEvidence(attestationKey: key.publicArea, attest: attest, signature: signature, pcrs: .values(pcrs), eventLog: eventLog)
        let expectation = try refuse(.nonce) { try QuoteExpectation(nonce: nonce) }
        let pcrBytes = try refuse(.evidence) { try TPM2ToolsPCRFile.serialize(pcrs) }
        func keep(passed: Bool, reasons: [String], policyID: Int64?, clock: TPMAttest.ClockInfo?) throws(AttestationRefusal) {
            _ = try internalStore {
                try store.record(AttestationOutcome(
                    machineID: key.machineID, attestationKeyID: key.id, nonce: nonce, attest: attest, signature: signature,
                    pcrs: pcrBytes, eventLog: eventLog, passed: passed, reasons: reasons, policyID: policyID, clock: clock), actor: "machine/\(machine.name)")
            }
        }
        let verdict = verifier.verify(evidence, expecting: expectation)
        guard case .verified(let quote) = verdict else {
            let failures = verdict.failures.map(\.description)
            try keep(passed: false, reasons: failures, policyID: nil, clock: nil)
            throw AttestationRefusal(.evidence, failures.joined(separator: "; "))
        }
        let clock = quote.clockInfo
        if let violation = ClockMonotonicity.violation(last: try internalStore({ try store.lastClock(machineID: key.machineID) }), current: quote.clockInfo) {
            try keep(passed: false, reasons: [violation], policyID: nil, clock: nil)
            throw AttestationRefusal(.counters, violation)
        }
        let policy = try policy(for: key.machineID, machineName: machine.name, quote: quote)
        let failures = try refuse(.policy) { try Policy(yaml: policy.yaml) }.failures(of: quote).map(\.description)
        try keep(passed: failures.isEmpty, reasons: failures, policyID: policy.id, clock: failures.isEmpty ? clock : nil)
        guard failures.isEmpty else { throw AttestationRefusal(.policy, failures.joined(separator: "; ")) }
        return try release(machineID: key.machineID, machineName: machine.name, ekPublic: machine.ekPublic, akName: key.name)
    }

    /// The machine's policy; a machine without one gets its quote's values pinned (trust on
    /// first use), stored as a version of its own policy and audited.
    private func policy(for machineID: Int64, machineName: String, quote: VerifiedQuote) throws(AttestationRefusal) -> PolicyVersion {
        if let name = try internalStore({ try store.policyName(machineID: machineID) }) {
            guard let version = try internalStore({ try store.latestPolicy(name: name) }) else {
                throw AttestationRefusal(.policy, "the machine's policy \(name) does not exist")
            }
            return version
        }
        let name = "machine-" + machineName.lowercased().filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        let pinned = try refuse(.policy) { try Policy.pinning(quote, name: String(name.prefix(64))) }
        let version = try internalStore { try store.savePolicy(name: pinned.name, yaml: pinned.yaml, actor: "system (trust on first use)") }
        try internalStore { try store.setPolicy(machineID: machineID, name: pinned.name) }
        return version
    }

    /// The machine's secrets, sealed for its AK and signed.
    private func release(machineID: Int64, machineName: String, ekPublic: [UInt8], akName: [UInt8]) throws(AttestationRefusal) -> SealedRelease {
        let diskKey = try internalStore { try store.diskKey(machineID: machineID) }
        let payload = ReleasePayload(nodeName: machineName, diskKey: Data(diskKey).base64EncodedString())
        return try refuse(.internalError) {
            try SealedRelease.seal(try JSONEncoder().encode(payload).map { $0 }, for: akName, under: EndorsementKey(file: ekPublic), releaseKey: releaseKey)
        }
    }

    private func activatedKey(_ id: Int64) throws(AttestationRefusal) -> AttestationKeyRecord {
        let key: AttestationKeyRecord
        do { key = try store.attestationKey(id: id) } catch { throw AttestationRefusal(.notActivated, "unknown attestation key") }
        guard key.activated else { throw AttestationRefusal(.notActivated, "the attestation key was never activated") }
        return key
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

/// What a release carries, before sealing (the K3s join configuration joins it with clusters).
public struct ReleasePayload: Codable, Sendable, Equatable {
    public let nodeName: String
    /// The disk key, base64.
    public let diskKey: String
}
