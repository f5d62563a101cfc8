import Attestation
import Crypto
import Foundation
import Images
import Store
import SwiftASN1
import TPM
import TSS
import WardenAPI
import WardenCrypto
import X509

/// What operators and auditors do, without the transport: every change is audited with
/// the caller as actor. Calls block on the database: run them off the event loop.
public final class AdminService: Sendable {
    let store: EnrolmentStore
    let state: StateFolder
    private let clientCA: Certificate
    private let vendorCAs: TPMVendorCAs
    private let verifier = QuoteVerifier()
    let images: ImageCatalogue
    /// The iPXE binaries Warden serves, for policies learned to follow an image.
    private let servedBootApplications: [BootReference.Measurement]
    /// Where this appliance's own API answers, which no cluster's K3s server may be.
    private let endpoints: ApplianceEndpoints

    /// `vendorCAs`: the TPM vendor CAs that discovered machines' EK certificates must be
    /// issued by; `servedBootApplications`: the iPXE binaries' Authenticode digests;
    /// `images`: the appliance's one catalogue, whose files boot HTTP serves (a new one on
    /// the state folder's image store when nil); `endpoints`: where this appliance's API answers.
    public init(
        store: EnrolmentStore, state: StateFolder, vendorCAs: TPMVendorCAs,
        servedBootApplications: [BootReference.Measurement] = [],
        images: ImageCatalogue? = nil, endpoints: ApplianceEndpoints = .none
    ) throws {
        self.store = store
        self.endpoints = endpoints
        self.state = state
        self.servedBootApplications = servedBootApplications
        self.images = try images ?? state.imageCatalogue(store: store)
        let issuer = try state.clientIssuer()
        clientCA = issuer.certificate
        self.vendorCAs = vendorCAs
        let operatorCertificate = try Certificate(
            pemEncoded: String(contentsOf: state.url(.operatorCertificate), encoding: .utf8))
        try store.recordOperatorCertificate(
            serial: Hex.encode(operatorCertificate.serialNumber.bytes), name: "operator", role: .operator,
            actor: "system (state folder)")
    }

    /// The caller behind a client certificate (DER).
    public func authenticate(certificateDER: [UInt8]) throws(AdminError) -> AdminIdentity {
        try AdminIdentity.authenticate(certificateDER: certificateDER, clientCA: clientCA, store: store)
    }

    // MARK: Machines

    /// Enrols a machine by its EK file, or adopts a discovered one.
    public func enroll(_ request: AdminMessages.EnrollRequest, by caller: AdminIdentity) throws(AdminError)
        -> MachineSummary
    {
        try require(.operator, caller)
        let role = try request.role.map { text throws(AdminError) in
            guard let role = MachineRole(rawValue: text) else { throw .invalid("role must be server or agent") }
            return role
        }
        try validateName(request.name, "machine")
        guard request.macs.count <= 16, request.labels.count <= 64 else {
            throw .invalid("at most 16 MACs and 64 labels")
        }
        var enrolment = MachineEnrolment(
            name: request.name, ekPublic: [], ekName: [], macs: request.macs, smbiosUUID: request.uuid,
            cluster: request.cluster, role: role, policy: request.policy, labels: request.labels, image: request.image)
        if let uuid = request.uuid, UUID(uuidString: uuid) == nil { throw .invalid("\(uuid) is not a UUID") }
        switch (request.ek, request.discoveredID) {
        case (let ek?, nil):
            guard let file = Data(base64Encoded: ek) else { throw .invalid("ek is not base64") }
            let key: EndorsementKey
            do { key = try EndorsementKey(file: [UInt8](file)) } catch { throw .invalid(error.description) }
            guard let name = key.tpmPublic.name else { throw .invalid("the EK has no name") }
            enrolment.ekPublic = key.tpmPublic.marshaled
            enrolment.ekName = name
            if EndorsementKey.isCertificate([UInt8](file)) { enrolment.ekCertificate = [UInt8](file) }
            _ = try stored { try store.enroll(enrolment, actor: caller.actor) }
        case (nil, let id?):
            try checkVendorCertificate(ofDiscovered: id)
            try stored { try store.adopt(discoveredID: id, as: enrolment, actor: caller.actor) }
        default:
            throw .invalid("give either an EK file or the id of a discovered machine")
        }
        return try stored { try store.machine(named: request.name) }
    }

    /// Every machine.
    public func machines(by caller: AdminIdentity) throws(AdminError) -> [MachineSummary] {
        try stored { try store.machines() }
    }

    /// One machine, its recent attestations and its policy.
    public func machine(named name: String, by caller: AdminIdentity) throws(AdminError) -> MachineDetail {
        let machine = try stored { try store.machine(named: name) }
        return MachineDetail(
            machine: machine, attestations: try stored { try store.attestations(machineID: machine.id) },
            policy: try machine.policy.flatMap { name throws(AdminError) in
                try stored { try store.latestPolicy(name: name) }
            })
    }

    /// Pins the evidence of a refused attestation (default: the latest) as the machine's
    /// policy: what the operator reviewed, not whatever boots next. Only an attestation whose
    /// quote verified and that only the policy refused can be approved.
    public func approve(machineNamed name: String, attestationID: Int64?, by caller: AdminIdentity) throws(AdminError)
        -> PolicyVersion
    {
        try require(.operator, caller)
        let machine = try stored { try store.machine(named: name) }
        let (evidence, verified) = try verifiedEvidence(of: machine, attestationID: attestationID, passing: false)
        guard !evidence.passed else {
            throw .invalid("attestation \(evidence.id) of \(name) passed: there is nothing to approve")
        }
        guard evidence.policyID != nil else {
            throw .invalid(
                "attestation \(evidence.id) of \(name) was refused before any policy was applied (its evidence, its counters, or a boot that measured no kernel): it cannot be approved"
            )
        }
        let pinned: Policy
        do { pinned = try Policy.pinning(verified, name: Policy.machinePolicyName(machine.name)) } catch {
            throw .invalid(error.description)
        }
        return try stored {
            try store.approve(
                PolicyPin(name: pinned.name, yaml: pinned.yaml), machineID: machine.id, actor: caller.actor,
                reason: "approved the evidence of attestation \(evidence.id)")
        }
    }

    /// A policy named `policyName` learned from a known-good attestation of machine `name`
    /// (default: its latest passing one): its PCRs 0–7, boot applications, Secure Boot when
    /// it was on. `followingImage` leaves PCR 4 to the machine's image instead (PCR 11 and
    /// 12 follow it too). Nothing is stored: the operator reviews the YAML and applies it.
    public func learnPolicy(
        named policyName: String, machineNamed name: String, attestationID: Int64?, followingImage: Bool = false,
        by caller: AdminIdentity
    ) throws(AdminError) -> AdminMessages.LearnedPolicy {
        let machine = try stored { try store.machine(named: name) }
        let (evidence, verified) = try verifiedEvidence(of: machine, attestationID: attestationID, passing: true)
        var image: BootReference.Image?
        if followingImage {
            guard let record = try stored({ try store.image(ofMachine: machine.id) }) else {
                throw .invalid("machine \(name) boots no image to follow")
            }
            image = record.bootReference(firmware: servedBootApplications)
            guard image != nil else { throw .invalid(record.unmeasuredReason) }
        }
        do {
            return AdminMessages.LearnedPolicy(
                attestationID: evidence.id,
                yaml: try Policy.learning(from: verified, name: policyName, following: image).yaml)
        } catch { throw .invalid(error.description) }
    }

    /// The evidence of an attestation of `machine` (default: its latest refused one, or
    /// passing one with `passing`), whose quote must still verify.
    private func verifiedEvidence(of machine: MachineSummary, attestationID: Int64?, passing: Bool) throws(AdminError)
        -> (StoredEvidence, VerifiedQuote)
    {
        let evidence = try stored {
            try store.evidence(of: machine, attestationID: attestationID, orLatestPassing: passing)
        }
        guard case .verified(let verified) = verifier.verify(evidence.evidence) else {
            throw .invalid("the evidence of attestation \(evidence.id) of \(machine.name) no longer verifies")
        }
        return (evidence, verified)
    }

    /// Revokes a machine: nothing is released to it any more.
    public func revoke(machineNamed name: String, by caller: AdminIdentity) throws(AdminError) {
        try require(.operator, caller)
        try stored { try store.revoke(machineNamed: name, actor: caller.actor) }
    }

    /// Forgets a discovered machine nobody will adopt.
    public func forget(discoveredMachineNamed name: String, by caller: AdminIdentity) throws(AdminError) {
        try require(.operator, caller)
        try stored { try store.forget(discoveredMachineNamed: name, actor: caller.actor) }
    }

    /// Clears a machine's legacy BIOS mark: the boot it was bound to is judged by its evidence alone.
    public func clearLegacyBootMark(machineNamed name: String, by caller: AdminIdentity) throws(AdminError) {
        try require(.operator, caller)
        try stored { try store.clearLegacyBootMark(machineNamed: name, actor: caller.actor) }
    }

    // MARK: Clusters

    /// Records a cluster after checking its tokens are K3s secure tokens and its K3s server
    /// is not this appliance.
    public func addCluster(_ request: AdminMessages.ClusterRequest, by caller: AdminIdentity) throws(AdminError) {
        try require(.operator, caller)
        try validateName(request.name, "cluster")
        guard let url = URL(string: request.k3sServer), url.scheme == "https", url.host != nil else {
            throw .invalid("the K3s server URL must be https://HOST[:PORT]")
        }
        guard !endpoints.contains(url) else {
            throw .invalid(
                "\(request.k3sServer) is this Warden appliance's API, not a K3s server: give the K3s server's URL (https://HOST:6443)"
            )
        }
        for (label, token) in [("token", request.token), ("agent token", request.agentToken)] {
            guard let token else { continue }
            if let problem = K3sToken.problem(token.revealedText) { throw .invalid("the \(label) \(problem)") }
        }
        try stored {
            try store.addCluster(
                name: request.name, serverURL: request.k3sServer, token: request.token, agentToken: request.agentToken,
                actor: caller.actor)
        }
    }

    /// Every cluster (never its tokens).
    public func clusters(by caller: AdminIdentity) throws(AdminError) -> [ClusterSummary] {
        try stored { try store.clusters() }
    }

    // MARK: Policies

    /// Stores a policy (YAML) as the next version of its name, unless its latest version has
    /// the same rules; on a dry run, only says which it would be.
    public func applyPolicy(_ request: AdminMessages.PolicyRequest, by caller: AdminIdentity) throws(AdminError)
        -> AdminMessages.PolicyApplied
    {
        try require(.operator, caller)
        let policy: Policy
        do {
            policy = try Policy(yaml: request.yaml, rackKeys: try SecureBootKeys(folder: state).policyKeys())
        } catch {
            throw .invalid(String(describing: error))
        }
        // `secureBootKeys: rack` means this appliance's keys now: stored as they are, so
        // that every appliance and auditor reads the same rules.
        let yaml = Policy.namesRackKeys(request.yaml) ? policy.yaml : request.yaml
        let sameRules: @Sendable (PolicyVersion) -> Bool = { (try? Policy(yaml: $0.yaml)) == policy }
        if request.dryRun == true {
            let latest = try stored { try store.latestPolicy(name: policy.name) }
            if let latest, sameRules(latest) { return .init(outcome: .unchanged, policy: latest, previous: latest) }
            let next = PolicyVersion(id: 0, name: policy.name, version: (latest?.version ?? 0) + 1, yaml: yaml)
            return .init(outcome: .wouldStore, policy: next, previous: latest)
        }
        let (previous, new) = try stored {
            try store.applyPolicy(name: policy.name, yaml: yaml, actor: caller.actor, sameRules: sameRules)
        }
        if let new { return .init(outcome: .stored, policy: new, previous: previous) }
        guard let previous else { throw .internalError("policy \(policy.name) was neither stored nor kept") }
        return .init(outcome: .unchanged, policy: previous, previous: previous)
    }

    /// The latest version of every policy.
    public func policies(by caller: AdminIdentity) throws(AdminError) -> [PolicyVersion] {
        try stored { try store.latestPolicies() }
    }

    /// The latest version of one policy.
    public func policy(named name: String, by caller: AdminIdentity) throws(AdminError) -> PolicyVersion {
        guard let version = try stored({ try store.latestPolicy(name: name) }) else {
            throw .notFound("policy \(name) not found")
        }
        return version
    }

    // MARK: Operators

    /// Issues a client certificate (with its key) for a new operator or auditor.
    public func addOperator(_ request: AdminMessages.OperatorRequest, by caller: AdminIdentity) throws(AdminError)
        -> AdminMessages.IssuedIdentity
    {
        try require(.operator, caller)
        try validateName(request.name, "operator")
        guard let role = OperatorRole(rawValue: request.role) else {
            throw .invalid("role must be operator or auditor")
        }
        do {
            let issued = try state.clientIssuer().issue(
                commonName: request.name, role: role.rawValue, extendedKeyUsage: .clientAuth, now: Date())
            try store.recordOperatorCertificate(
                serial: Hex.encode(issued.certificate.serialNumber.bytes), name: request.name, role: role,
                actor: caller.actor)
            return AdminMessages.IssuedIdentity(
                certificate: try issued.certificate.serializeAsPEM().pemString, key: issued.key.pemRepresentation,
                serverCA: try String(contentsOf: state.url(.serverCA), encoding: .utf8))
        } catch let error as StoreError { throw AdminError(error) } catch { throw .internalError("\(error)") }
    }

    /// Every issued client certificate.
    public func operators(by caller: AdminIdentity) throws(AdminError) -> [OperatorCertificate] {
        try stored { try store.operatorCertificates() }
    }

    /// Revokes every certificate of operator `name`.
    public func revokeOperator(named name: String, by caller: AdminIdentity) throws(AdminError) -> Int {
        try require(.operator, caller)
        return try stored { try store.revokeOperator(named: name, actor: caller.actor) }
    }

    /// Audits a refused admin call; throws when the record cannot be written (the refusal
    /// itself stands).
    public func auditRefusal(_ error: AdminError, actor: String, subject: String) throws(AdminError) {
        try stored {
            try store.auditRefusal(actor: actor, subject: subject, details: "admin call refused: \(error.description)")
        }
    }

    // MARK: Helpers

    func require(_ role: OperatorRole, _ caller: AdminIdentity) throws(AdminError) {
        guard caller.role == role else {
            throw .forbidden("the \(caller.role.rawValue) role cannot do this; it needs \(role.rawValue)")
        }
    }

    func validateName(_ name: String, _ what: String) throws(AdminError) {
        if let problem = ResourceName.problem(name, what) { throw .invalid(problem) }
    }

    private func checkVendorCertificate(ofDiscovered id: Int64) throws(AdminError) {
        let certificate = try stored { try store.ekCertificate(machineID: id) }
        guard let certificate else {
            throw .invalid(
                "discovered machine \(id) sent no EK certificate a configured TPM vendor CA issued: enrol it with --ek instead"
            )
        }
        if let problem = vendorCAs.problem(with: certificate) { throw .invalid(problem) }
    }

    func stored<T>(_ body: () throws -> T) throws(AdminError) -> T {
        do { return try body() } catch let error as StoreError { throw AdminError(error) } catch {
            throw .internalError("\(error)")
        }
    }
}
