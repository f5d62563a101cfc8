import Attestation
import Foundation
import Logging
import Octets
import Store
import TPM
import UEFIVariables
import WardenAPI
import WardenCrypto

/// Enrols the rack's Secure Boot keys in the firmware of machines in setup mode, from the
/// network: a machine's agent asks with its EK and its firmware's event log, gets the signed
/// updates of PK, KEK and db (the same public bytes for every machine, signed once by the
/// keys' holder), signed for it by the release key, writes them and reports what it wrote.
///
/// Nothing secret crosses, and the firmware itself takes PK, KEK and db only in setup mode;
/// so the log is read as the machine's word, not bound to a quote. A log whose PCR 7 shows a
/// PK, or a machine not in setup mode by its own account, gets nothing (audited, bounded).
/// A report is accepted only with the signed updates it reports on, which only Warden could
/// have made for that machine.
public struct SecureBootEnrolmentService: Sendable {
    let store: EnrolmentStore
    let attestation: AttestationService
    let releaseKey: SigningKey
    /// The release key's public half, which checks what reports carry.
    let releasePublicKey: PublicKey?
    let releaseCertificate: String
    let refusals: RefusalAudit
    /// The enrolment image (`secureBootEnrolmentImage`); nil: enrolment is off.
    let enrolmentImage: String?
    /// The rack's enrolment updates, read once: keys are never replaced, and `serve`
    /// refuses to start with enrolment on and the updates missing.
    let updates: Result<[(variable: SecureBootVariable, update: [UInt8])], SecureBootKeyError>
    /// The rack's keys as a policy predicts them, for the first-use pins enrolment replaces.
    let rackKeys: Policy.SecureBootKeySet?
    let logger: Logger

    /// Reads the rack's updates and keys from `keys` now when enrolment is on.
    public init(
        store: EnrolmentStore, keys: SecureBootKeys, attestation: AttestationService, releaseKey: SigningKey,
        releaseCertificate: String, refusals: RefusalAudit, enrolmentImage: String?, logger: Logger
    ) {
        self.store = store
        self.attestation = attestation
        self.releaseKey = releaseKey
        releasePublicKey = try? releaseKey.publicKey
        self.releaseCertificate = releaseCertificate
        self.refusals = refusals
        self.enrolmentImage = enrolmentImage
        updates =
            enrolmentImage == nil
            ? .success([]) : Result { () throws(SecureBootKeyError) in try keys.enrolmentUpdates() }
        rackKeys = enrolmentImage == nil ? nil : try? keys.policyKeys()
        self.logger = logger
    }

    public typealias Messages = SecureBootEnrolmentMessages

    /// The signed updates for the machine `request` names, recorded as discovered when it is
    /// new (at the discovery pace); refused unless enrolment is on, the machine is in setup
    /// mode by its word and its log, and it is discovered or an operator gave it the
    /// enrolment image: nobody else may have a machine an operator enrolled recorded as
    /// enrolled, and its first-use pin replaced.
    public func updates(for request: Messages.Request, from source: String) throws(AttestationRefusal)
        -> Messages.SignedUpdates
    {
        guard let enrolmentImage else {
            throw AttestationRefusal(
                .policy, "Secure Boot enrolment is switched off on this appliance (secureBootEnrolmentImage)")
        }
        let log = try AttestationRefusal.bytes(request.eventLog, "eventLog", decodingAtMost: EventLog.maxSize)
        let ekPublic = try AttestationRefusal.bytes(request.ekPublic, "ekPublic")
        var ekCertificate: [UInt8]?
        if let certificate = request.ekCertificate {
            ekCertificate = try AttestationRefusal.bytes(certificate, "ekCertificate")
        }
        let machine = try attestation.discover(ekPublic: ekPublic, ekCertificate: ekCertificate, from: source)
        let problem =
            machine.state.isOutOfService
            ? "the machine is \(machine.state.rawValue)"
            : try assignmentProblem(machine, enrolmentImage: enrolmentImage)
                ?? Self.setupModeProblem(log: log, claimed: request.setupMode)
        if let problem {
            refusals.refused(
                .secureBootEnrolment, machineID: machine.id, actor: "agent \(source)", subject: "machine/\(machine.id)",
                details: "Secure Boot enrolment refused: \(problem)", source: source)
            throw AttestationRefusal(
                machine.state.isOutOfService ? .revoked : .evidence, "no Secure Boot keys sent: \(problem)")
        }
        let updates: [(variable: SecureBootVariable, update: [UInt8])]
        do { updates = try self.updates.get() } catch {
            logger.error("Secure Boot enrolment cannot be served", metadata: ["reason": "\(error)"])
            throw AttestationRefusal(.internalError, "the rack's enrolment updates cannot be read: \(error)")
        }
        let payload = Messages.Updates(
            machineID: machine.id,
            variables: updates.map { .init(name: $0.variable.rawValue, update: Base64.encode($0.update)) },
            issuedAt: Date())
        let bytes: [UInt8]
        let signature: [UInt8]
        do {
            bytes = [UInt8](try JSONEncoder().encode(payload))
            signature = try releaseKey.sign(digest: Self.signedDigest(bytes), scheme: .ecdsa(.sha256))
        } catch {
            throw AttestationRefusal(.internalError, "the updates cannot be signed: \(error)")
        }
        // Anyone who knows a machine's EK may ask again and again: audited in bounded form.
        refusals.refused(
            .secureBootUpdatesSent, machineID: machine.id, actor: "agent \(source)", subject: "machine/\(machine.id)",
            details: "Secure Boot updates sent to a machine in setup mode: "
                + Self.describe(
                    updates.map { ($0.variable.rawValue, Hex.encode(DigestAlgorithm.sha256.hash($0.update))) }),
            source: source)
        logger.info(
            "Secure Boot enrolment updates sent", metadata: ["machine": "\(machine.id)", "source": "\(source)"])
        return Messages.SignedUpdates(
            payload: Base64.encode(bytes), signature: Base64.encode(signature), releaseCertificate: releaseCertificate)
    }

    /// Records what the agent wrote from updates Warden signed for it, once: every update
    /// written marks the machine as enrolled by Warden (audited) and replaces a first-use pin
    /// that pins PCR 7 by one that predicts it from the rack's keys, provided the machine is
    /// still one enrolment may touch (discovered, or given the enrolment image); a report of
    /// a partial write is audited in bounded form. A report is its agent's word: anyone who
    /// got the updates could send it, so it changes nothing an operator set.
    public func recordWritten(_ report: Messages.Report, from source: String) throws(AttestationRefusal)
        -> Messages.Recorded
    {
        let sent = try signedUpdates(payload: report.payload, signature: report.signature)
        let digests = Dictionary(
            sent.variables.map {
                ($0.name, Base64.decode($0.update).map { Hex.encode(DigestAlgorithm.sha256.hash($0)) })
            },
            uniquingKeysWith: { first, _ in first })
        guard report.written.allSatisfy({ digests[$0.key] == $0.value }) else {
            throw AttestationRefusal(.evidence, "the report names updates Warden did not send")
        }
        let written = sent.variables.compactMap { update in report.written[update.name].map { (update.name, $0) } }
        guard report.problem == nil, written.count == sent.variables.count, let enrolmentImage else {
            refusals.refused(
                .secureBootEnrolment, machineID: sent.machineID, actor: "agent \(source)",
                subject: "machine/\(sent.machineID)",
                details:
                    "Secure Boot enrolment incomplete: \(written.isEmpty ? "nothing" : Self.describe(written)) written; "
                    + (report.problem ?? "enrolment is switched off"),
                source: source)
            return Messages.Recorded(machineID: sent.machineID)
        }
        let rackKeys = self.rackKeys
        do throws(StoreError) {
            try store.recordSecureBootEnrolment(
                machineID: sent.machineID, issuedAt: sent.issuedAt, enrolmentImage: enrolmentImage,
                details: "written by its agent: " + Self.describe(written),
                repin: { latest in
                    guard let rackKeys, let pinned = try? Policy(yaml: latest.yaml),
                        pinned.pcrs.values.contains(where: { $0[7] != nil }),
                        let predicted = try? pinned.predictingPCR7(from: rackKeys)
                    else { return nil }
                    return PolicyPin(name: latest.name, yaml: predicted.yaml)
                }, actor: "agent \(source)")
        } catch .notFound {
            throw AttestationRefusal(.unknownEndorsementKey, "machine \(sent.machineID) is no longer known")
        } catch .invalid(let why) {
            throw AttestationRefusal(.policy, why)
        } catch {
            throw AttestationRefusal.store(error)
        }
        logger.info("Secure Boot keys enrolled", metadata: ["machine": "\(sent.machineID)", "source": "\(source)"])
        return Messages.Recorded(machineID: sent.machineID)
    }

    /// Audits, in bounded form, that the agent of the machine with `refusal.ekPublic` refused
    /// the updates it was sent (a signature that does not verify, say).
    public func recordRefusal(_ refusal: Messages.Refusal, from source: String) throws(AttestationRefusal)
        -> Messages.Recorded
    {
        let ekPublic = try AttestationRefusal.bytes(refusal.ekPublic, "ekPublic")
        let name: [UInt8]?
        do { name = try EndorsementKey(file: ekPublic).tpmPublic.name } catch {
            throw AttestationRefusal(.unknownEndorsementKey, "\(error)")
        }
        let machine: (id: Int64, name: String, state: MachineState)?
        do { machine = try name.flatMap { try store.machine(ekName: $0) } } catch {
            throw AttestationRefusal.store(error)
        }
        guard let machine else {
            throw AttestationRefusal(.unknownEndorsementKey, "this endorsement key asked for no enrolment")
        }
        refusals.refused(
            .secureBootEnrolment, machineID: machine.id, actor: "agent \(source)", subject: "machine/\(machine.id)",
            details:
                "the agent refused the Secure Boot updates it was sent: \(refusal.reason.prefix(RefusalAudit.maxText))",
            source: source)
        return Messages.Recorded(machineID: machine.id)
    }

    /// Why a machine an operator enrolled may not be enrolled now: it does not boot the
    /// enrolment image; nil for a discovered machine, or one given that image.
    private func assignmentProblem(_ machine: (id: Int64, state: MachineState), enrolmentImage: String)
        throws(AttestationRefusal) -> String?
    {
        guard machine.state != .discovered else { return nil }
        let image: ImageRecord?
        do { image = try store.image(ofMachine: machine.id) } catch { throw AttestationRefusal.store(error) }
        guard image?.name != enrolmentImage else { return nil }
        return
            "the machine is \(machine.state.rawValue), and an operator gave it image \(image?.name ?? "none"), not the enrolment image \(enrolmentImage)"
    }

    /// The updates of a payload Warden signed, checked against the release key and the
    /// report window.
    private func signedUpdates(payload: String, signature: String) throws(AttestationRefusal) -> Messages.Updates {
        let bytes = try AttestationRefusal.bytes(payload, "payload", decodingAtMost: 65_536)
        let signature = try AttestationRefusal.bytes(signature, "signature")
        guard let key = releasePublicKey,
            key.isValidSignature(signature, digest: Self.signedDigest(bytes), scheme: .ecdsa(.sha256)),
            let updates = try? JSONDecoder().decode(Messages.Updates.self, from: Data(bytes))
        else {
            throw AttestationRefusal(.evidence, "the report carries no updates this appliance's release key signed")
        }
        guard Date().timeIntervalSince(updates.issuedAt) <= Messages.reportWindow else {
            throw AttestationRefusal(.evidence, "the updates were sent more than an hour ago")
        }
        return updates
    }

    /// What the release key signs for `payload`.
    static func signedDigest(_ payload: [UInt8]) -> [UInt8] {
        DigestAlgorithm.sha256.hash(Messages.signingContext + payload)
    }

    /// Why a machine is not in setup mode by its word (`claimed`) and its log's PCR 7: nil
    /// when it is, its log measuring an empty PK (what setup mode is; a KEK left from a
    /// vendor, or from an enrolment cut short before its PK, is replaced).
    static func setupModeProblem(log bytes: [UInt8], claimed: Bool) -> String? {
        guard claimed else { return "its firmware's SetupMode variable says it is not in setup mode" }
        let log: EventLog
        do { log = try EventLog.parse(bytes) } catch { return "its event log is unreadable: \(error)" }
        let platformKeys = log.events.lazy.filter { $0.pcr == 7 && $0.type == .efiVariableDriverConfig }
            .compactMap { UEFIVariable($0.data) }
            .filter { $0.name == "PK" && $0.guid == EFIGUID.globalVariable.description }
        guard let platformKey = platformKeys.first else { return "its event log measures no PK into PCR 7" }
        guard platformKey.data.isEmpty else {
            return "its event log shows PK enrolled (\(platformKey.data.count) bytes)"
        }
        return nil
    }

    /// "db sha256 …, KEK sha256 …" for an audit record, from (variable, SHA-256 hex) pairs.
    static func describe(_ updates: [(String, String)]) -> String {
        updates.map { "\($0.0) sha256 \($0.1)" }.joined(separator: ", ")
    }
}
