import Attestation
import Foundation
import Images
import Logging
import Synchronization
import Store
import TPM
import TSS
import WardenAPI
import WardenCrypto

/// The attestation flow without its transport: register an AK against an enrolled EK,
/// activate it (proof that it lives in that TPM), issue a nonce to whoever proves it holds
/// the activation's secret, judge a quote, and release the machine's secrets only after
/// the passing verdict is durably recorded. Every refusal is audited: those of requests that
/// only the machine could have made one by one, the rest — which anyone can send — in
/// bounded form (``RefusalAudit``), and none says whether a key id exists. Calls other than
/// ``attest(attestationKeyID:evidence:from:)`` block on the database: run them off the event
/// loop.
public final class AttestationService: Sendable {
    private let store: EnrolmentStore
    /// Where an attestation runs (``BlockingPools/agentRequests(on:)``).
    private let executor: ThreadPoolExecutor
    /// Attestations under way now, and how many may be (``maxAttestationsUnderWay``).
    private let underWay = Atomic<Int>(0)
    private let maxUnderWay: Int
    private let refusals: RefusalAudit
    private let logger: Logger
    /// How fast new discovered machines may be recorded.
    private let discoveries: DiscoveryPace
    /// Which EK certificates of discovered machines are kept.
    private let vendorCAs: TPMVendorCAs
    private let releaseKey: SigningKey
    /// AKs' keys and replayed logs kept: 256 logs of at most 128 KiB hold some 32 MiB at most.
    private let verifier = QuoteVerifier(keys: BoundedCache(capacity: 16_384), logs: BoundedCache(capacity: 256))
    /// Parsed policy versions by id: versions never change, so parsing once is enough.
    private let parsedPolicies = BoundedCache<Int64, Policy>(capacity: 4_096)
    /// Endorsement keys by their marshaled public area, decoded once (a machine's EK never
    /// changes; building the RSA key is most of a release's cost).
    private let endorsementKeys = BoundedCache<[UInt8], EndorsementKey>(capacity: 16_384)
    /// The iPXE binaries Warden serves, by Authenticode digest: boot applications a machine's
    /// image allows in PCR 4 before the image itself.
    private let servedBootApplications: [BootReference.Measurement]

    /// The largest EK certificate a self-registering machine may send.
    public static let maxEKCertificateSize = TPMDevice.maxCertificateSize
    /// The largest TPM structure (public area, TPMS_ATTEST, TPMT_SIGNATURE) an agent may send.
    public static let maxStructureSize = 4_096
    /// The largest PCR file an agent may send (tpm2-tools' format takes 532 bytes for every
    /// eight PCRs: all 24 of four banks come to 6,520 bytes).
    public static let maxPCRFileSize = 16_384
    /// How many judged attestations may be under way at once. One holds its evidence, decoded,
    /// from its judgement until its release, and waits for its commit holding no thread, so
    /// the agent threads no longer bound them: this does. Only a request the machine alone
    /// could make is counted (its nonce and key were good), so no one else takes the places.
    /// Twice the writes one commit holds (``EnrolmentStore``'s line of writes); one more is
    /// answered `unavailable`, which an agent takes to another appliance, or tries again after
    /// a pause.
    public static let maxAttestationsUnderWay = 512

    /// `refusals` audits what anyone may send; `discoveries` bounds how fast machines are
    /// recorded as discovered (shared with the boot scripts); `vendorCAs` decides which EK
    /// certificates of discovered machines are kept; `logger` gets a line per verdict recorded
    /// and per release; at most `maxAttestationsUnderWay` attestations are under way at once.
    public init(
        store: EnrolmentStore, releaseKey: SigningKey, servedBootApplications: [BootReference.Measurement] = [],
        refusals: RefusalAudit? = nil,
        discoveries: DiscoveryPace = DiscoveryPace(perMinutePerSource: 30, perMinute: 300),
        vendorCAs: TPMVendorCAs = .none, logger: Logger = .silent("warden.attestation"),
        maxAttestationsUnderWay: Int = AttestationService.maxAttestationsUnderWay
    ) {
        self.maxUnderWay = maxAttestationsUnderWay
        self.logger = logger
        self.store = store
        self.executor = ThreadPoolExecutor(BlockingPools.agentRequests(on: store))
        self.releaseKey = releaseKey
        self.servedBootApplications = servedBootApplications
        self.refusals = refusals ?? RefusalAudit(store: store, interval: 60)
        self.discoveries = discoveries
        self.vendorCAs = vendorCAs
    }

    /// A registered AK: the signed registration its agent hands back, and the credential its
    /// TPM must activate.
    public struct Registration: Sendable {
        public let ticket: [UInt8]
        public let challenge: CredentialChallenge
    }

    /// Registers the AK `akPublic` (TPM2B_PUBLIC) of the machine enrolled with `ekPublic`.
    public func register(ekPublic: [UInt8], akPublic: [UInt8], from source: String = "local") throws(AttestationRefusal)
        -> Registration
    {
        let ek = try endorsementKey(ekPublic, source: source)
        guard let ekName = ek.tpmPublic.name, let machine = try internalStore({ try store.machine(ekName: ekName) }),
            machine.state != .discovered
        else {
            throw refused(
                .registration, .unknownEndorsementKey, subject: "ek/" + Hex.encode(ek.tpmPublic.name ?? []),
                "registration refused: EK not enrolled",
                answer: "this endorsement key is not enrolled", source: source)
        }
        guard !machine.state.isOutOfService else {
            throw refused(
                .registration, .revoked, subject: "machine/\(machine.id)", "registration refused: machine revoked",
                answer: "machine \(machine.name) is revoked", source: source)
        }
        let ak: AttestationKey
        do {
            guard akPublic.count <= Self.maxStructureSize else {
                throw TPMDecodingError("TPM2B_PUBLIC", "\(akPublic.count) bytes, more than \(Self.maxStructureSize)")
            }
            ak = try AttestationKey(file: akPublic)
        } catch {
            throw refused(
                .registration, .attestationKey, subject: "machine/\(machine.id)", "registration refused: \(error)",
                answer: "\(error)", source: source)
        }
        guard let akName = ak.name else { throw AttestationRefusal(.attestationKey, "a TPM2B_PUBLIC is required") }
        let secret = SecureRandom.bytes(32)
        let challenge = try refuse(.internalError) { try Credential.make(secret, for: akName, to: ek) }
        let ticket = try internalStore {
            try store.registrationTicket(machineID: machine.id, publicArea: akPublic, name: akName, challenge: secret)
        }
        return Registration(ticket: ticket, challenge: challenge)
    }

    /// Records a machine that is not enrolled as discovered, for an operator to adopt, at the
    /// pace `discoveries` allows. Its EK certificate
    /// is kept only when a configured vendor CA issued it: no other one could ever let an
    /// operator adopt it, and anyone could send kilobytes of them.
    public func discover(ekPublic: [UInt8], ekCertificate: [UInt8]?, from source: String = "local")
        throws(AttestationRefusal) -> (id: Int64, state: MachineState)
    {
        let ek = try endorsementKey(ekPublic, source: source)
        if let certificate = ekCertificate {
            // Stored with the discovered machine: bounded like the TPM's own NV index.
            guard certificate.count <= Self.maxEKCertificateSize else {
                throw AttestationRefusal(
                    .unknownEndorsementKey,
                    "an EK certificate of \(certificate.count) bytes is larger than \(Self.maxEKCertificateSize)")
            }
            let certified = try refuse(.unknownEndorsementKey) { try EndorsementKey(file: certificate) }
            guard certified.tpmPublic.name == ek.tpmPublic.name else {
                throw refused(
                    .discovery, .unknownEndorsementKey, subject: "ek/" + Hex.encode(ek.tpmPublic.name ?? []),
                    "discovery refused: the certificate is for another key",
                    answer: "the EK certificate does not certify this endorsement key", source: source)
            }
        }
        guard let name = ek.tpmPublic.name else {
            throw AttestationRefusal(.unknownEndorsementKey, "the EK has no name")
        }
        if let known = try internalStore({ try store.machine(ekName: name) }) { return (known.id, known.state) }
        guard discoveries.admit(source) else {
            throw refused(
                .discovery, .limit, subject: "ek/" + Hex.encode(name),
                "discovery refused: too many new machines from \(source)",
                answer: "too many new machines from this address; try again later", source: source)
        }
        let vendorIssued = ekCertificate.flatMap { vendorCAs.problem(with: $0) == nil ? $0 : nil }
        do throws(StoreError) {
            return try store.discover(ekPublic: ek.tpmPublic.marshaled, ekName: name, ekCertificate: vendorIssued)
        } catch {
            if case .limit = error {
                throw refused(
                    .discovery, .limit, subject: "ek/" + Hex.encode(name), "discovery refused: \(error.description)",
                    answer: error.description, source: source)
            }
            throw AttestationRefusal.store(error)
        }
    }

    /// Activates the AK a registration ticket names when `proof` is what its TPM's
    /// ActivateCredential returned; returns the AK's id.
    public func activate(registration ticket: [UInt8], proof: [UInt8], from source: String = "local")
        throws(AttestationRefusal) -> Int64
    {
        let activated: Int64?
        do throws(StoreError) { activated = try store.activateAttestationKey(ticket: ticket, proof: proof) } catch {
            if case .notFound(let why) = error {
                throw refused(
                    .activation, .notActivated, subject: "registration", "activation refused: \(why)",
                    answer: "this registration was not issued here, or has expired: register again", source: source)
            }
            throw AttestationRefusal.store(error)
        }
        guard let activated else {
            throw refused(
                .activation, .activation, subject: "registration", "activation refused: wrong credential",
                answer: "the credential was not recovered: this AK is not in the enrolled TPM", source: source)
        }
        return activated
    }

    /// A fresh nonce for a quote by an activated AK of a machine that is not revoked, for
    /// the holder of its activation secret (`proof`, see ``ChallengeProof``). An unknown key,
    /// one never activated and a wrong proof get the same answer.
    public func challenge(attestationKeyID: Int64, proof: [UInt8], from source: String = "local")
        throws(AttestationRefusal) -> [UInt8]
    {
        let issue = try internalStore { try store.issueNonce(attestationKeyID: attestationKeyID, proof: proof) }
        switch issue {
        case .issued(let nonce): return nonce
        case .unknownKey, .notActivated, .wrongProof:
            throw refused(
                .challenge, .notActivated, subject: "attestation-key/\(attestationKeyID)",
                "challenge refused: \(issue)",
                answer: "no activated attestation key with this id and proof", source: source)
        case .revoked(let machineID):
            // Only the machine holds the proof: its own refusals are its own records.
            throw refused(
                .challenge, .revoked, subject: "machine/\(machineID)", "challenge refused: machine revoked",
                answer: "this machine is revoked",
                source: source, machineID: machineID)
        }
    }

    /// Judges a quote (``Judgement/judge(_:given:policy:verifier:)``); on a pass, records it
    /// (durably, with its audit record and the nonce consumed) and only then returns the
    /// machine's release. Every refusal of the quote itself is recorded too; one of its nonce
    /// or of a revoked machine is audited in bounded form. Nothing is stored before the nonce
    /// proves the request came from the machine: an unknown key, one never activated and a
    /// nonce not issued to it get the same answer. `evidence` comes from the agent, which
    /// names its AK by `attestationKeyID`: its public area is the one the store holds.
    ///
    /// It runs on the agent API's threads (the judgement and the release block on the database
    /// and spend a verification's CPU), except that between them the verdict waits for its
    /// commit holding none (``EnrolmentStore/record(_:pinning:actor:now:)``), so that one
    /// commit keeps every verdict judged while the one before it was made.
    public func attest(attestationKeyID: Int64, evidence submitted: Evidence, from source: String = "local")
        async throws(AttestationRefusal) -> SealedRelease
    {
        let started = ContinuousClock.now
        defer { WardenMetrics.attestationDuration.record(duration: started.duration(to: .now)) }
        do throws(AttestationRefusal) {
            let release = try await withTaskExecutorPreference(executor) { () async throws(AttestationRefusal) in
                let judged = try self.judged(attestationKeyID: attestationKeyID, evidence: submitted, from: source)
                // Counted once judged: a request only the machine could make, so that nobody
                // else's requests take the places.
                guard self.underWay.add(1, ordering: .relaxed).newValue <= self.maxUnderWay else {
                    self.underWay.subtract(1, ordering: .relaxed)
                    throw AttestationRefusal(
                        .unavailable, "\(self.maxUnderWay) attestations are under way on this appliance; retry shortly")
                }
                defer { self.underWay.subtract(1, ordering: .relaxed) }
                let recorded: Result<RecordedAttestation, StoreError>
                do throws(StoreError) {
                    recorded = .success(
                        try await self.store.record(
                            judged.outcome,
                            pinning: judged.judgement.pin.map { PolicyPin(name: $0.name, yaml: $0.yaml) },
                            actor: "machine/\(judged.context.machineName)"))
                } catch {
                    recorded = .failure(error)
                }
                return try self.release(judged, recorded: recorded, from: source)
            }
            WardenMetrics.attestation(verdict: "passed", reason: "none")
            WardenMetrics.releases.increment()
            return release
        } catch {
            // A refusal the judgement made is counted by its class; one before it by its reason.
            WardenMetrics.attestation(verdict: "refused", reason: error.judged?.rawValue ?? error.reason.rawValue)
            throw error
        }
    }

    /// A quote judged, and what it was judged with, before its verdict is recorded.
    private struct JudgedAttestation: Sendable {
        let context: AttestationContext
        let judgement: Judgement
        let outcome: AttestationOutcome
    }

    /// The judgement of a quote the store may record: one refused before (an unknown key, a
    /// nonce not issued to it, a revoked machine) is audited in bounded form and thrown.
    private func judged(attestationKeyID: Int64, evidence submitted: Evidence, from source: String)
        throws(AttestationRefusal) -> JudgedAttestation
    {
        guard submitted.nonce.count == EnrolmentStore.nonceSize else {
            throw AttestationRefusal(
                .nonce, "a nonce is \(EnrolmentStore.nonceSize) bytes, not \(submitted.nonce.count)")
        }
        guard submitted.attest.count <= Self.maxStructureSize, submitted.signature.count <= Self.maxStructureSize,
            submitted.pcrs.count <= Self.maxPCRFileSize, (submitted.eventLog?.count ?? 0) <= EventLog.maxSize
        else {
            throw AttestationRefusal(
                .evidence,
                "the quote, its signature, its PCR values or the event log exceeds its bound (\(Self.maxStructureSize), \(Self.maxStructureSize), \(Self.maxPCRFileSize), \(EventLog.maxSize) bytes)"
            )
        }
        let context = try internalStore {
            try store.attestationContext(attestationKeyID: attestationKeyID, nonce: submitted.nonce)
        }
        guard let context, context.key.activated else {
            throw refused(
                .attestation, .nonce, subject: "attestation-key/\(attestationKeyID)",
                "attestation refused: \(context == nil ? "unknown key" : "key never activated")",
                answer: Self.nonceAnswer, source: source)
        }
        let key = context.key
        var evidence = submitted
        evidence.attestationKey = key.publicArea
        let policy = context.policy.map { version in Result { () throws(PolicyError) in try parsed(version) } }
        // Read only for a request the machine alone could make: a replay costs no image look-up.
        var image: JudgementInputs.ImageStanding?
        if context.nonceProblem == nil, !context.machineState.isOutOfService, case .success(let parsed)? = policy,
            parsed.image == .required, let record = try internalStore({ try store.image(ofMachine: key.machineID) })
        {
            image =
                record.bootReference(firmware: servedBootApplications).map { .measured(reference: $0) }
                ?? .unmeasured(reason: record.unmeasuredReason)
        }
        let inputs = context.judgementInputs(image: image)
        let judgement = Judgement.judge(evidence, given: inputs, policy: policy, verifier: verifier)
        if let refusal = judgement.refusal, !refusal.isRecorded {
            // Anyone may replay a request: audited in bounded form, a nonce's answered as an
            // unknown key's; a revoked machine's only once its nonce was good.
            throw refusal == .nonce
                ? refused(
                    .attestation, .nonce, subject: "attestation-key/\(attestationKeyID)",
                    "attestation refused: " + judgement.reasons.joined(separator: "; "), answer: Self.nonceAnswer,
                    source: source, judged: refusal)
                : refused(
                    .attestation, .revoked, subject: "machine/\(key.machineID)", "attestation refused: machine revoked",
                    answer: judgement.reasons.joined(separator: "; "), source: source, machineID: key.machineID,
                    judged: refusal)
        }
        return JudgedAttestation(
            context: context, judgement: judgement,
            outcome: AttestationOutcome(
                machineID: key.machineID, attestationKeyID: key.id, evidence: evidence, inputs: inputs,
                judgement: judgement))
    }

    /// The release of `judged` once its verdict was `recorded`: the machine's secrets, sealed,
    /// for a pass; for a refusal, or a verdict the store did not keep, why.
    private func release(
        _ judged: JudgedAttestation, recorded: Result<RecordedAttestation, StoreError>, from source: String
    ) throws(AttestationRefusal) -> SealedRelease {
        let (context, judgement) = (judged.context, judged.judgement)
        let key = context.key
        let subject = "machine/\(key.machineID)"
        let attestation: RecordedAttestation
        do throws(StoreError) {
            attestation = try recorded.get()
        } catch {
            // Another request consumed the nonce meanwhile: this one is a replay.
            if case .nonce = error {
                throw refused(
                    .attestation, .nonce, subject: subject, "attestation refused: \(error)", answer: error.description,
                    source: source, machineID: key.machineID)
            }
            // Revoked meanwhile: the lifecycle refused the release inside the transaction.
            if case .lifecycle = error {
                throw refused(
                    .attestation, .revoked, subject: subject, "attestation refused: \(error)",
                    answer: "machine \(context.machineName) is revoked",
                    source: source, machineID: key.machineID)
            }
            // Anything else is the appliance's failure (a release secret missing, or sealed
            // under another key-encryption key): the agent is told only "internal error".
            let refusal = AttestationRefusal.store(error)
            if refusal.reason == .internalError {
                logger.error(
                    "attestation not recorded", metadata: ["machine": "\(context.machineName)", "error": "\(error)"])
            }
            throw refusal
        }
        var metadata: Logger.Metadata = [
            "machine": "\(context.machineName)", "attestation": "\(attestation.id)", "source": "\(source)",
            "policy":
                "\(context.policy.map { "\($0.name)@\($0.version)" } ?? (judgement.pin == nil ? "none" : "first use"))",
        ]
        if let refusal = judgement.refusal {
            metadata["reasons"] = "\(judgement.reasons.joined(separator: "; "))"
            logger.warning("attestation refused", metadata: metadata)
            throw AttestationRefusal(refusal.answerReason, judgement.reasons.joined(separator: "; "), judged: refusal)
        }
        // One line for a pass and its release: each line costs some 3 % of an attestation's CPU.
        do throws(AttestationRefusal) {
            guard let secrets = attestation.release else {
                throw AttestationRefusal.store(StoreError.notFound("release secrets of machine \(key.machineID)"))
            }
            let release = try sealed(
                secrets, machineName: context.machineName, ekPublic: context.ekPublic, akName: key.name)
            metadata["release"] = "sealed"
            logger.info("attestation passed", metadata: metadata)
            return release
        } catch {
            metadata["error"] = "\(error)"
            logger.error("attestation passed, release not sealed", metadata: metadata)
            throw error
        }
    }

    /// What a request with an unknown key, one never activated or a nonce not issued to it is
    /// answered: the same, so that none says which it was.
    private static let nonceAnswer = "this nonce was not issued to this attestation key, or it is used or expired"

    private func cachedEndorsementKey(_ ekPublic: [UInt8]) throws -> EndorsementKey {
        try endorsementKeys.value(for: ekPublic) { try EndorsementKey(file: ekPublic) }
    }

    /// The policy of `version`, parsed once.
    private func parsed(_ version: PolicyVersion) throws(PolicyError) -> Policy {
        try parsedPolicies.value(for: version.id) { () throws(PolicyError) in try Policy(yaml: version.yaml) }
    }

    /// The machine's secrets, sealed for its AK and signed.
    private func sealed(_ secrets: ReleaseSecrets, machineName: String, ekPublic: [UInt8], akName: [UInt8])
        throws(AttestationRefusal) -> SealedRelease
    {
        let join = secrets.join.map {
            JoinConfiguration(
                server: $0.serverURL, token: $0.token, role: $0.role.rawValue, nodeName: machineName, labels: $0.labels)
        }
        let payload = ReleasePayload(
            nodeName: machineName, diskKey: secrets.diskKey, join: join,
            removedApplianceCertificates: secrets.removedApplianceCertificates.map(Hex.encode))
        return try refuse(.internalError) {
            try SealedRelease.seal(
                try payload.json(), for: akName, under: cachedEndorsementKey(ekPublic),
                releaseKey: releaseKey)
        }
    }

    private func endorsementKey(_ bytes: [UInt8], source: String) throws(AttestationRefusal) -> EndorsementKey {
        do {
            guard bytes.count <= Self.maxStructureSize else {
                throw TPMDecodingError("TPM2B_PUBLIC", "\(bytes.count) bytes, more than \(Self.maxStructureSize)")
            }
            return try EndorsementKey(file: bytes)
        } catch {
            throw refused(
                .unknownEndorsementKey, .unknownEndorsementKey, subject: "ek/unreadable", "request refused: \(error)",
                answer: "\(error)", source: source)
        }
    }

    /// A refusal, audited through ``RefusalAudit``: bounded, unless `machineID` names the
    /// machine that (alone) could have sent the request.
    private func refused(
        _ kind: RefusalAudit.Kind, _ reason: AttestationRefusal.Reason, subject: String, _ details: String,
        answer: String,
        source: String, machineID: Int64? = nil, judged: Judgement.Refusal? = nil
    ) -> AttestationRefusal {
        refusals.refused(
            kind, machineID: machineID, actor: "agent \(source)", subject: subject, details: details, source: source)
        return AttestationRefusal(reason, answer, judged: judged)
    }

    private func refuse<T>(_ reason: AttestationRefusal.Reason, _ body: () throws -> T) throws(AttestationRefusal) -> T
    {
        do { return try body() } catch { throw AttestationRefusal(reason, "\(error)") }
    }

    private func internalStore<T>(_ body: () throws -> T) throws(AttestationRefusal) -> T {
        do { return try body() } catch { throw AttestationRefusal.store(error) }
    }
}
