import Foundation
import Store
import WardenCrypto

/// What `warden audit verify` found: the stretch of the chain, what was checked, and
/// every failure, each naming its record or file. The bundle holds only when there is none.
public struct AuditVerification: Codable, Sendable {
    public var bundle: String
    /// Whether the key was pinned by the caller (`--key`) rather than taken from the bundle.
    public var anchored: Bool
    /// Fingerprint of the key in the bundle (SHA-256 of its DER SubjectPublicKeyInfo).
    public var keyFingerprint: String?
    public var firstSequence: Int64?
    public var lastSequence: Int64?
    public var records: Int64 = 0
    public var headHash: String?
    public var checkpointsVerified = 0
    public var attestations = 0
    public var evidenceChecked = 0
    public var evidenceNotIncluded = 0
    /// Whether each quote was verified again and judged again by its policy version.
    public var reverified: Bool
    public var verdictsReproduced = 0
    /// Refusals recorded before their judgement's inputs were kept whose evidence alone
    /// passes: they rest on the machine's history (its counters went backwards) or state
    /// (its policy did not exist), not on the quote.
    public var refusalsRestingOnHistory = 0
    public var previous: String?
    /// Records the previous export and this one share, all found identical.
    public var sharedWithPrevious: Int64?
    public var failures: [String] = []

    /// Whether everything holds.
    public var holds: Bool { failures.isEmpty }
}

/// Verifies an export bundle offline, in a few streaming passes over the file: memory
/// grows with the number of attestations and checkpoints, not with the number of records.
public enum AuditVerifier {
    /// Verifies `bundle` against `key` (nil: the bundle's own key, which anchors nothing)
    /// and, with `previous`, that it extends that earlier export.
    public static func verify(
        bundle: String, key pinned: AuditPublicKey?, previous: String? = nil, reverify: Bool = true
    ) throws(AuditError) -> AuditVerification {
        var report = AuditVerification(
            bundle: bundle, anchored: pinned != nil, reverified: reverify, previous: previous)
        var findings = Findings()
        let inventory = try BundleInventory(path: bundle)
        inventory.failures.forEach { findings.fail($0) }

        let bundleKey = inventory.smallFiles[BundleLayout.publicKey].flatMap {
            try? AuditPublicKey(pem: String(decoding: $0, as: UTF8.self))
        }
        report.keyFingerprint = bundleKey?.fingerprint
        if bundleKey == nil { findings.fail("\(BundleLayout.publicKey): missing or not an Ed25519 public key") }
        if let pinned, let bundleKey, pinned != bundleKey {
            findings.fail(
                "\(BundleLayout.publicKey): not the pinned key (bundle \(bundleKey.fingerprint), pinned \(pinned.fingerprint))"
            )
        }
        let trusted = pinned ?? bundleKey
        checkManifest(inventory, key: trusted, findings: &findings)

        let summary = inventory.smallFiles[BundleLayout.summary].flatMap {
            try? BundleJSON.decode(BundleSummary.self, $0)
        }
        if summary == nil { findings.fail("\(BundleLayout.summary): missing or unreadable") }
        if let summary, !BundleLayout.readableFormats.contains(summary.format) {
            findings.fail(
                "\(BundleLayout.summary): format \(summary.format) is not one this warden reads (\(BundleLayout.readableFormats.sorted().joined(separator: ", "))): verify it with a newer warden"
            )
        }
        if let summary, summary.keyFingerprint != bundleKey?.fingerprint {
            findings.fail("\(BundleLayout.summary): names key \(summary.keyFingerprint), the bundle carries another")
        }
        let checkpoints = checkedCheckpoints(inventory, key: trusted, findings: &findings)
        report.checkpointsVerified = checkpoints.count

        let chain = try ChainCheck(bundle: bundle, summary: summary, checkpoints: checkpoints, findings: &findings)
        report.records = chain.records
        report.firstSequence = chain.first?.sequence
        report.lastSequence = chain.last?.sequence
        report.headHash = chain.last.map { Hex.encode($0.hash) }
        checkEnds(chain, summary: summary, checkpoints: checkpoints, inventory: inventory, findings: &findings)
        let policies = checkedPolicies(inventory, chain: chain, findings: &findings)

        let evidence = try EvidenceCheck(
            bundle: bundle, attestations: chain.attestations, policies: policies, reverify: reverify,
            findings: &findings)
        report.attestations = chain.attestations.count
        report.evidenceChecked = evidence.checked
        report.verdictsReproduced = evidence.reproduced
        report.refusalsRestingOnHistory = evidence.restingOnHistory
        for (id, record) in chain.attestations.sorted(by: { $0.key < $1.key }) where !evidence.seen.contains(id) {
            if summary?.machine == nil {
                findings.fail("record \(record.sequence): the evidence of attestation \(id) is missing")
            } else {
                report.evidenceNotIncluded += 1
            }
        }

        if let previous, let summary {
            report.sharedWithPrevious = try comparePrevious(
                previous, key: trusted, bundle: bundle, summary: summary, checkpoints: checkpoints, findings: &findings)
        }
        report.failures = findings.all
        return report
    }

    private static func checkManifest(_ inventory: BundleInventory, key: AuditPublicKey?, findings: inout Findings) {
        guard let manifest = inventory.smallFiles[BundleLayout.manifest] else {
            findings.fail("\(BundleLayout.manifest): missing")
            return
        }
        if let key, !key.isValidSignature(inventory.smallFiles[BundleLayout.manifestSignature] ?? [], for: manifest) {
            findings.fail(
                "\(BundleLayout.manifestSignature): the manifest's signature does not verify with key \(key.fingerprint)"
            )
        }
        var listed = Set<String>()
        for (number, line) in String(decoding: manifest, as: UTF8.self).split(separator: "\n").enumerated() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[1].hasPrefix(" "), let digest = Hex.decode(String(parts[0])),
                digest.count == 32
            else {
                findings.fail("\(BundleLayout.manifest) line \(number + 1): not “SHA-256  path”")
                continue
            }
            let path = String(parts[1].dropFirst())
            guard listed.insert(path).inserted else { findings.fail("\(path): listed twice in the manifest"); continue }
            switch inventory.digests[path] {
            case nil: findings.fail("\(path): listed in the manifest but missing")
            case let found? where found != digest:
                findings.fail("\(path): altered (its SHA-256 differs from the manifest)")
            default: break
            }
        }
        for path in inventory.digests.keys.sorted()
        where !listed.contains(path) && path != BundleLayout.manifest && path != BundleLayout.manifestSignature {
            findings.fail("\(path): not listed in the manifest")
        }
    }

    /// The bundle's checkpoints whose signatures verify, by sequence.
    private static func checkedCheckpoints(_ inventory: BundleInventory, key: AuditPublicKey?, findings: inout Findings)
        -> [Int64: AuditCheckpoint]
    {
        guard let bytes = inventory.smallFiles[BundleLayout.checkpoints] else {
            findings.fail("\(BundleLayout.checkpoints): missing")
            return [:]
        }
        var checkpoints: [Int64: AuditCheckpoint] = [:]
        for (number, line) in bytes.split(separator: 0x0a).enumerated() {
            guard let checkpoint = try? RecordFormats.checkpoint(jsonLine: line) else {
                findings.fail("\(BundleLayout.checkpoints) line \(number + 1): not a checkpoint")
                continue
            }
            let message = AuditChain.checkpointMessage(
                sequence: checkpoint.sequence, hash: checkpoint.hash, signedAt: checkpoint.signedAt)
            guard let key, key.isValidSignature(checkpoint.signature, for: message) else {
                findings.fail("checkpoint \(checkpoint.sequence): its signature does not verify")
                continue
            }
            checkpoints[checkpoint.sequence] = checkpoint
        }
        return checkpoints
    }

    private static func checkEnds(
        _ chain: ChainCheck, summary: BundleSummary?, checkpoints: [Int64: AuditCheckpoint], inventory: BundleInventory,
        findings: inout Findings
    ) {
        if let summary {
            if chain.records != summary.records || chain.last?.sequence != summary.lastSequence
                || chain.last.map({ Hex.encode($0.hash) }) != summary.headHash
            {
                findings.fail(
                    "\(BundleLayout.records): ends at record \(chain.last?.sequence ?? 0) after \(chain.records) records; "
                        + "\(BundleLayout.summary) says record \(summary.lastSequence) after \(summary.records), head \(summary.headHash.prefix(16))…"
                )
            }
        }
        if inventory.digests[BundleLayout.recordsCSV] != chain.csvDigest {
            findings.fail("\(BundleLayout.recordsCSV): does not say what \(BundleLayout.records) says")
        }
        let matched = chain.checkpointsMatched
        if matched < checkpoints.count {
            let range = (chain.first?.sequence ?? 0)...(chain.last?.sequence ?? 0)
            for sequence in checkpoints.keys.sorted() where !range.contains(sequence) {
                findings.fail("checkpoint \(sequence): names no record of this bundle")
            }
        }
    }

    /// Policy files by id, each checked against the chain record that stored its version.
    private static func checkedPolicies(_ inventory: BundleInventory, chain: ChainCheck, findings: inout Findings)
        -> [Int64: [UInt8]]
    {
        guard let bytes = inventory.smallFiles[BundleLayout.policyIndex],
            let index = try? BundleJSON.decode([PolicyIndexEntry].self, bytes)
        else {
            findings.fail("\(BundleLayout.policyIndex): missing or unreadable")
            return [:]
        }
        var policies: [Int64: [UInt8]] = [:]
        for entry in index {
            guard entry.file == BundleLayout.policyFile(entry.id), let yaml = inventory.smallFiles[entry.file] else {
                findings.fail("\(entry.file): listed in \(BundleLayout.policyIndex) but missing")
                continue
            }
            let digest = DigestAlgorithm.sha256.hash(yaml)
            if let stored = chain.policyVersions[ChainCheck.policyKey(entry.name, entry.version)],
                stored.digest != digest
            {
                findings.fail(
                    "\(entry.file): differs from the policy version record \(stored.sequence) stored (altered)")
            }
            policies[entry.id] = yaml
        }
        return policies
    }

    private static func comparePrevious(
        _ previous: String, key: AuditPublicKey?, bundle: String, summary: BundleSummary,
        checkpoints: [Int64: AuditCheckpoint], findings: inout Findings
    ) throws(AuditError) -> Int64? {
        let old = try verify(bundle: previous, key: key, reverify: false)
        guard old.holds else {
            findings.fail("the previous export \(previous) does not verify: \(old.failures.first ?? "")")
            return nil
        }
        let oldInventory = try BundleInventory(path: previous)
        guard
            let oldSummary = oldInventory.smallFiles[BundleLayout.summary].flatMap({
                try? BundleJSON.decode(BundleSummary.self, $0)
            })
        else { return nil }
        var ignored = Findings()
        let oldCheckpoints = checkedCheckpoints(oldInventory, key: key, findings: &ignored)
        return try HistoryCheck.compare(
            new: bundle, newSummary: summary, newCheckpoints: checkpoints,
            old: previous, oldSummary: oldSummary, oldCheckpoints: oldCheckpoints, findings: &findings)
    }
}
