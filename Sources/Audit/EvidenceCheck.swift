import Archive
import Attestation
import Store
import TPM
import WardenCrypto

/// Third pass: each attestation's evidence, a folder at a time. Its files must hash to
/// the digest its chained record carries, its attestation.json must say what the record
/// says, and, when re-verifying, the quote is checked again and judged again by the
/// policy version recorded for it, to see whether the recorded verdict is reproduced.
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
    private var parsedPolicies: [Int64: Policy] = [:]
    private let verifier = QuoteVerifier()

    init(bundle: String, attestations: [Int64: AttestationRecordFacts], policies: [Int64: [UInt8]], reverify: Bool, findings: inout Findings) throws(AuditError) {
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
        guard let factsBytes = files[BundleLayout.attestationFile], let facts = try? BundleJSON.decode(AttestationFacts.self, factsBytes),
              facts.attestation == id
        else {
            findings.fail("\(place)\(BundleLayout.attestationFile): missing or unreadable")
            return
        }
        guard let evidence = EvidenceFiles(files: files) else {
            findings.fail("\(place): evidence files missing (needs \(EvidenceFiles.names.filter { !EvidenceFiles.optionalNames.contains($0) }.joined(separator: ", ")))")
            return
        }
        checked += 1
        let digest = evidence.digest
        if digest != record.evidenceSHA256 || Hex.encode(digest) != facts.evidenceSHA256 {
            findings.fail("\(place): the evidence does not match the digest record \(record.sequence) carries (altered)")
            return
        }
        let stated = AttestationOutcome.auditDetails(passed: facts.passed, policy: facts.policy.map { ($0.name, $0.version) }, reasons: facts.reasons)
        if stated != record.details || facts.sequence != record.sequence {
            findings.fail("\(place)\(BundleLayout.attestationFile): says other than record \(record.sequence)")
            return
        }
        guard reverify else { return }
        switch judge(evidence, policy: facts.policy) {
        case .failure(let why):
            findings.fail("\(place): cannot be re-verified: \(why)")
        case .verdict(let passed, let reasons):
            if passed == facts.passed {
                reproduced += 1
            } else if !facts.passed && facts.policy == nil && passed {
                restingOnHistory += 1
            } else {
                let found = passed ? "passes" : "is refused (\(reasons.joined(separator: "; ")))"
                findings.fail("attestation \(id) (record \(record.sequence)): recorded as \(facts.passed ? "passed" : "refused"), but re-verified it \(found)")
            }
        }
    }

    private enum Judgement {
        case verdict(passed: Bool, reasons: [String])
        case failure(String)
    }

    /// The verdict the evidence earns now, under the policy version recorded for it.
    private mutating func judge(_ evidence: EvidenceFiles, policy reference: AttestationFacts.PolicyReference?) -> Judgement {
        let pcrs: PCRValues
        let expectation: QuoteExpectation
        do {
            pcrs = try TPM2ToolsPCRFile.parse(evidence.pcrs)
            expectation = try QuoteExpectation(nonce: evidence.nonce)
        } catch { return .verdict(passed: false, reasons: ["\(error)"]) }
        let verdict = verifier.verify(
            QuoteEvidence(attestationKey: evidence.attestationKeyPublic, attest: evidence.attest, signature: evidence.signature,
                          pcrs: .values(pcrs), eventLog: evidence.eventLog),
            expecting: expectation)
        guard case .verified(let quote) = verdict else { return .verdict(passed: false, reasons: verdict.failures.map(\.description)) }
        let boot: BootReference
        do { boot = try evidence.bootReference.map { bytes throws(PolicyError) in try BootReference(json: bytes) } ?? BootReference() } catch {
            return .failure(error.description)
        }
        guard let reference else {
            // Without a policy (trust on first use) the server refuses only unmeasured boots.
            return .verdict(passed: boot.unmeasured == nil, reasons: boot.unmeasured.map { [$0] } ?? [])
        }
        guard let yaml = policies[reference.id] else { return .failure("policy version \(reference.file) is not in the bundle") }
        let policy: Policy
        do { policy = try parsedPolicy(reference.id, yaml) } catch {
            // The server refuses under a policy it cannot read, as this verifier does.
            return .verdict(passed: false, reasons: [error.description])
        }
        let failures = policy.failures(of: quote, boot: boot).map(\.description)
        return .verdict(passed: failures.isEmpty, reasons: failures)
    }

    private mutating func parsedPolicy(_ id: Int64, _ yaml: [UInt8]) throws(PolicyError) -> Policy {
        if let policy = parsedPolicies[id] { return policy }
        guard let text = String(validating: yaml, as: UTF8.self) else { throw PolicyError("policy version \(id) is not UTF-8") }
        let policy = try Policy(yaml: text)
        parsedPolicies[id] = policy
        return policy
    }
}
