import Store
import WardenCrypto

/// What a verification found wrong, each naming the record or file; bounded, so that a
/// bundle that fails everywhere still yields a readable report.
struct Findings {
    static let limit = 1_000
    private(set) var failures: [String] = []
    private(set) var omitted = 0

    mutating func fail(_ failure: String) {
        if failures.count < Self.limit { failures.append(failure) } else { omitted += 1 }
    }

    var all: [String] { omitted == 0 ? failures : failures + ["… and \(omitted) more failures"] }
}

/// An attestation record as the evidence pass needs it.
struct AttestationRecordFacts {
    let sequence: Int64
    let evidenceSHA256: [UInt8]?
    let details: String
}

/// Second pass: `records.jsonl` streamed once. Every record's hash is recomputed, every
/// link to the record before it followed, sequences must run without a gap, the
/// checkpoints must name records as they are, every release must follow its passing
/// attestation, and `records.csv` must say the same as `records.jsonl`.
struct ChainCheck {
    private(set) var records: Int64 = 0
    private(set) var first: AuditRecord?
    private(set) var last: AuditRecord?
    private(set) var checkpointsMatched = 0
    /// Attestation records by attestation id.
    private(set) var attestations: [Int64: AttestationRecordFacts] = [:]
    /// Policy versions whose storing is recorded here: (name, version) → YAML digest.
    private(set) var policyVersions: [String: (sequence: Int64, digest: [UInt8])] = [:]
    /// SHA-256 of the CSV these records make.
    private(set) var csvDigest: [UInt8] = []

    static func policyKey(_ name: String, _ version: Int) -> String { "\(name)@\(version)" }

    init(bundle: String, summary: BundleSummary?, checkpoints: [Int64: AuditCheckpoint], findings: inout Findings)
        throws(AuditError)
    {
        guard let stream = try RecordStream(bundle: bundle, path: BundleLayout.records) else {
            findings.fail("\(BundleLayout.records): missing")
            return
        }
        let namesAppliances = BundleLayout.namesAppliances(format: summary?.format)
        var csv = Hasher(.sha256)
        csv.update(Array(RecordFormats.csvHeader(BundleLayout.csvColumns(format: summary?.format)).utf8))
        var previous: AuditRecord?
        var csvLine: [UInt8] = []
        while let line = try stream.nextLine() {
            let record: AuditRecord
            do { record = try RecordFormats.record(jsonLine: line, namingAppliance: namesAppliances) } catch {
                findings.fail("\(BundleLayout.records) line \(stream.lineNumber): \(error)")
                previous = nil
                continue
            }
            records += 1
            if first == nil { first = record }
            csvLine.removeAll(keepingCapacity: true)
            RecordFormats.appendCSVLine(record, namingAppliance: namesAppliances, to: &csvLine)
            csv.update(csvLine)
            check(record, after: previous, summary: summary, findings: &findings)
            if let checkpoint = checkpoints[record.sequence] {
                if checkpoint.hash == record.hash {
                    checkpointsMatched += 1
                } else {
                    findings.fail(
                        "checkpoint \(record.sequence): signs a hash that record \(record.sequence) does not have")
                }
            }
            note(record, after: previous, findings: &findings)
            previous = record
            last = record
        }
        csvDigest = csv.finalize()
    }

    private func check(
        _ record: AuditRecord, after previous: AuditRecord?, summary: BundleSummary?, findings: inout Findings
    ) {
        if AuditChain.hash(of: record) != record.hash {
            findings.fail("record \(record.sequence): its contents do not match its hash (edited)")
        }
        if let previous {
            if record.sequence != previous.sequence + 1 {
                findings.fail(
                    "record \(record.sequence): follows record \(previous.sequence) (records missing or out of order)")
            }
            if record.previousHash != previous.hash {
                findings.fail(
                    "record \(record.sequence): does not chain to record \(previous.sequence) (its previous hash differs)"
                )
            }
        } else if first?.sequence == record.sequence, let summary {
            if record.sequence != summary.firstSequence {
                findings.fail("record \(record.sequence): the bundle starts at record \(summary.firstSequence)")
            }
            if Hex.encode(record.previousHash) != summary.previousHash {
                findings.fail("record \(record.sequence): does not chain to the hash bundle.json says it follows")
            }
        }
    }

    private mutating func note(_ record: AuditRecord, after previous: AuditRecord?, findings: inout Findings) {
        switch record.action {
        case "attestation":
            if let reference = BundleLayout.attestationReference(record.subject) {
                attestations[reference.attestationID] = AttestationRecordFacts(
                    sequence: record.sequence, evidenceSHA256: record.evidenceSHA256, details: record.details)
            }
        case "release":
            guard let previous, previous.action == "attestation", previous.subject == record.subject,
                previous.details.hasPrefix("passed ")
            else {
                findings.fail(
                    "record \(record.sequence): a release that does not follow a passing attestation of \(record.subject)"
                )
                return
            }
        case "policy-version":
            if let version = AuditExporter.policyVersion(record.subject), let digest = record.evidenceSHA256 {
                policyVersions[Self.policyKey(version.name, version.version)] = (record.sequence, digest)
            }
        default: break
        }
    }
}
