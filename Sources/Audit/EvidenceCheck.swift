import Archive
import Attestation
import Store
import TPM
import WardenCrypto

/// Third pass: each attestation's evidence, a folder at a time. Its files must hash to
/// the digest its chained record carries, its attestation.json must say what the record
/// says, and, when re-verifying, the evidence is judged again by the server's own
/// ``Judgement/judge(_:given:policy:verifier:)`` from the inputs kept with it: the same
/// verdict, the same reasons, the same boot reference and the same pin, or a finding.
/// Evidence kept before its inputs were (no `judgement.json`) is judged by the policy
/// version recorded for it, and only its verdict is compared.
struct EvidenceCheck {
    private(set) var checked = 0
    private(set) var reproduced = 0
    /// Refusals whose quote verifies and meets its policy: they rest on the machine's
    /// history (counters going backwards), which one attestation's evidence cannot show.
    private(set) var restingOnHistory = 0
    private(set) var seen = Set<Int64>()

    private static let fileLimit = 16 << 20
    private let reverify: Bool
    private let attestations: [Int64: AttestationRecordFacts]
    private let policies: [Int64: [UInt8]]
    private var parsedPolicies: [Int64: Result<Policy, PolicyError>] = [:]
    /// The first attestation kept with its judgement's inputs: none after it may lack them.
    private var firstJudged: Int64?
    private let verifier = QuoteVerifier()

    init(
        bundle: String, attestations: [Int64: AttestationRecordFacts], policies: [Int64: [UInt8]], reverify: Bool,
        findings: inout Findings
    ) throws(AuditError) {
        self.attestations = attestations
        self.policies = policies
        self.reverify = reverify
        var reader = try open(bundle)
        var folder: (id: Int64, files: [String: [UInt8]])?
        do {
            while let entry = try reader.next() {
                let parts = entry.path.split(separator: "/")
                guard entry.isRegularFile, parts.count == 3, parts[0] == "evidence", let id = Int64(parts[1]),
                    BundleInventory.isExpected(entry.path)
                else { continue }
                if let current = folder, current.id != id {
                    check(current.id, current.files, findings: &findings)
                    folder = nil
                }
                guard !seen.contains(id) || folder?.id == id else {
                    findings.fail("evidence/\(id)/: its files are not together in the bundle")
                    continue
                }
                seen.insert(id)
                if folder == nil { folder = (id, [:]) }
                folder?.files[String(parts[2])] = try reader.readAll(limit: Self.fileLimit)
            }
        } catch { throw AuditError.bundle("\(bundle): \(error)") }
        if let current = folder { check(current.id, current.files, findings: &findings) }
    }

    private mutating func check(_ id: Int64, _ files: [String: [UInt8]], findings: inout Findings) {
        let place = BundleLayout.evidenceFolder(id)
        guard let record = attestations[id] else {
            findings.fail("\(place): no attestation record of this bundle names it")
            return
        }
        guard let factsBytes = files[BundleLayout.attestationFile],
            let facts = try? BundleJSON.decode(AttestationFacts.self, factsBytes),
            facts.attestation == id
        else {
            findings.fail("\(place)\(BundleLayout.attestationFile): missing or unreadable")
            return
        }
        guard let evidence = EvidenceFiles(files: files) else {
            findings.fail(
                "\(place): evidence files missing (needs \(EvidenceFiles.names.filter { !EvidenceFiles.optionalNames.contains($0) }.joined(separator: ", ")))"
            )
            return
        }
        checked += 1
        let digest = evidence.digest
        if digest != record.evidenceSHA256 || Hex.encode(digest) != facts.evidenceSHA256 {
            findings.fail(
                "\(place): the evidence does not match the digest record \(record.sequence) carries (altered)")
            return
        }
        let stated = AttestationOutcome.auditDetails(
            passed: facts.passed, policy: facts.policy.map { ($0.name, $0.version) }, reasons: facts.reasons)
        if stated != record.details || facts.sequence != record.sequence {
            findings.fail("\(place)\(BundleLayout.attestationFile): says other than record \(record.sequence)")
            return
        }
        guard reverify else { return }
        if let inputs = evidence.judgement {
            firstJudged = firstJudged ?? id
            rejudge(
                evidence, inputs: inputs, facts: facts, place: place, id: id, sequence: record.sequence,
                findings: &findings)
        } else if let firstJudged, id > firstJudged {
            // A server that stops keeping the inputs must not earn the weaker check.
            findings.fail("\(place): kept without judgement.json, though attestation \(firstJudged) before it has one")
        } else {
            rejudgeVerdict(evidence, facts: facts, id: id, sequence: record.sequence, findings: &findings)
        }
    }

    /// Judges the evidence again from the inputs kept with it: verdict, reasons, boot
    /// reference and pin must all be what was recorded.
    private mutating func rejudge(
        _ evidence: EvidenceFiles, inputs bytes: [UInt8], facts: AttestationFacts, place: String, id: Int64,
        sequence: Int64,
        findings: inout Findings
    ) {
        let inputs: JudgementInputs
        do { inputs = try JudgementInputs(json: bytes) } catch {
            findings.fail("\(place)judgement.json: \(error.description)")
            return
        }
        // A refusal decided before the policy (its quote, its counters) does not need the
        // policy's file, and an export need not carry it.
        var policy: Result<Policy, PolicyError>?
        var absentPolicy: String?
        if case .version(let policyID, let name, let version) = inputs.policy {
            if let yaml = policies[policyID] {
                policy = parsedPolicy(policyID, yaml)
            } else {
                absentPolicy = "policy \(name) version \(version)"
            }
        }
        let judgement = Judgement.judge(evidence.evidence, given: inputs, policy: policy, verifier: verifier)
        if let absentPolicy, judgement.refusal == .unreadablePolicy {
            findings.fail("\(place): \(absentPolicy), which it was judged by, is not in the bundle")
            return
        }
        var differences: [String] = []
        // Compared as kept: the store keeps reasons joined by new lines, and a reason may hold one.
        if judgement.passed != facts.passed
            || judgement.reasons.joined(separator: "\n") != facts.reasons.joined(separator: "\n")
        {
            let found = judgement.passed ? "passes" : "is refused (\(judgement.reasons.joined(separator: "; ")))"
            differences.append(
                "recorded as \(facts.passed ? "passed" : "refused (\(facts.reasons.joined(separator: "; ")))"), but judged again it \(found)"
            )
        }
        if (try? Self.bootReference(of: evidence)) != judgement.boot {
            differences.append("the boot reference kept with it is not the one its inputs give")
        }
        // A first pass is recorded under the policy it pinned, compared just below.
        if judgement.pin == nil, judgement.policyID != facts.policy?.id {
            differences.append(
                "recorded under \(facts.policy.map { "policy \($0.name) version \($0.version)" } ?? "no policy"), but its inputs name another"
            )
        }
        if let pin = judgement.pin, facts.policy.flatMap({ policies[$0.id] }) != Array(pin.yaml.utf8) {
            differences.append("the policy its first pass pinned is not the one its evidence gives")
        }
        if differences.isEmpty {
            reproduced += 1
        } else {
            findings.fail("attestation \(id) (record \(sequence)): " + differences.joined(separator: "; "))
        }
    }

    /// Judges evidence kept without its inputs by the policy version recorded for it; only
    /// the verdict is compared, and a refusal that the evidence alone does not reproduce is
    /// counted as resting on the machine's history.
    private mutating func rejudgeVerdict(
        _ files: EvidenceFiles, facts: AttestationFacts, id: Int64, sequence: Int64, findings: inout Findings
    ) {
        let boot: BootReference
        do { boot = try Self.bootReference(of: files) } catch {
            findings.fail("attestation \(id): cannot be re-verified: \(error.description)")
            return
        }
        var evidence = files.evidence
        // The reason a boot went unmeasured was kept, not the agent's mark: either reason refuses alike.
        evidence.legacyBIOS = evidence.legacyBIOS || boot.unmeasured != nil
        var policy: Result<Policy, PolicyError>?
        if let reference = facts.policy {
            guard let yaml = policies[reference.id] else {
                findings.fail(
                    "attestation \(id): cannot be re-verified: policy version \(reference.file) is not in the bundle")
                return
            }
            policy = parsedPolicy(reference.id, yaml)
        }
        let inputs = JudgementInputs(
            machineName: facts.machine, machineState: .active,
            policy: facts.policy.map { .version(id: $0.id, name: $0.name, version: $0.version) } ?? .firstUse,
            image: boot.image.map { .measured(reference: $0) })
        let passed = Judgement.judge(evidence, given: inputs, policy: policy, verifier: verifier).passed
        if passed == facts.passed {
            reproduced += 1
        } else if !facts.passed && facts.policy == nil && passed {
            restingOnHistory += 1
        } else {
            findings.fail(
                "attestation \(id) (record \(sequence)): recorded as \(facts.passed ? "passed" : "refused"), but re-verified it \(passed ? "passes" : "is refused")"
            )
        }
    }

    /// The boot reference kept with the evidence (none: an empty one).
    private static func bootReference(of files: EvidenceFiles) throws(PolicyError) -> BootReference {
        try files.bootReference.map { bytes throws(PolicyError) in try BootReference(json: bytes) } ?? BootReference()
    }

    /// Policy version `id`, parsed once.
    private mutating func parsedPolicy(_ id: Int64, _ yaml: [UInt8]) -> Result<Policy, PolicyError> {
        if let policy = parsedPolicies[id] { return policy }
        let policy = Result { () throws(PolicyError) in
            guard let text = String(validating: yaml, as: UTF8.self) else {
                throw PolicyError("policy version \(id) is not UTF-8")
            }
            return try Policy(yaml: text)
        }
        parsedPolicies[id] = policy
        return policy
    }
}
