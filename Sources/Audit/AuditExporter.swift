import Foundation
import Store
import WardenCrypto

/// What to export: a contiguous stretch of the chain by time, with the evidence of every
/// attestation in it, or only of one machine's (`machine` never narrows the records).
public struct AuditExportRequest: Sendable, Equatable {
    /// Earliest record time (chain format, `2026-11-22T05:00:00.000Z`; a prefix such as a date works).
    public var from: String?
    /// Latest record time (inclusive; same format).
    public var to: String?
    /// The machine whose evidence alone is included.
    public var machine: String?

    public init(from: String? = nil, to: String? = nil, machine: String? = nil) {
        self.from = from
        self.to = to
        self.machine = machine
    }
}

/// Writes export bundles: one `.tar.gz`, streamed, in constant memory for the records.
public enum AuditExporter {
    /// Exports from `store` to `path` (written beside it, then renamed into place), signing
    /// the manifest with `key`; `progress` hears (records done, records in all) now and then.
    public static func export(
        from store: EnrolmentStore, key: AuditKey, request: AuditExportRequest, to path: String, now: Date = Date(),
        progress: ((Int64, Int64) -> Void)? = nil
    ) throws -> BundleSummary {
        let folder =
            (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let partial = folder + "/." + (path as NSString).lastPathComponent + ".partial"
        defer { unlink(partial) }
        let summary = try store.readAudit { snapshot in
            try write(
                snapshot, key: key, request: request, to: partial, spoolFolder: folder, now: now, progress: progress)
        }
        guard rename(partial, path) == 0 else {
            throw AuditError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return summary
    }

    private static func write(
        _ snapshot: AuditSnapshot, key: AuditKey, request: AuditExportRequest, to path: String, spoolFolder: String,
        now: Date,
        progress: ((Int64, Int64) -> Void)?
    ) throws -> BundleSummary {
        guard let sequences = try snapshot.sequences(from: request.from, to: request.to) else {
            throw AuditError.request(
                "no audit record lies between \(request.from ?? "the start") and \(request.to ?? "now")")
        }
        let machineID = try request.machine.map { name in
            guard let id = try snapshot.machineID(named: name) else {
                throw AuditError.request("no machine is named \(name)")
            }
            return id
        }
        var bundle = try BundleWriter(path: path, modified: now)
        try bundle.add(BundleLayout.readme, BundleReadme.text)
        try bundle.add(BundleLayout.publicKey, key.publicKey.pem)
        let records = try SpoolFile(in: spoolFolder, name: "records.jsonl")
        let csv = try SpoolFile(in: spoolFolder, name: "records.csv")
        try csv.append {
            $0.append(contentsOf: RecordFormats.csvHeader(BundleLayout.csvColumns(format: BundleLayout.format)).utf8)
        }
        var policyIDs = Set<Int64>()
        var first: AuditRecord?
        var last: AuditRecord?
        var attestations = 0, evidenceIncluded = 0
        let total = sequences.upperBound - sequences.lowerBound + 1
        try snapshot.forEachRecord(in: sequences) { record in
            if first == nil { first = record }
            last = record
            try records.append { RecordFormats.appendJSONLine(record, to: &$0) }
            try csv.append { RecordFormats.appendCSVLine(record, namingAppliance: true, to: &$0) }
            if record.action == "attestation", let reference = BundleLayout.attestationReference(record.subject) {
                attestations += 1
                if machineID == nil || machineID == reference.machineID,
                    let attestation = try snapshot.attestation(id: reference.attestationID)
                {
                    try addEvidence(attestation, record: record, snapshot: snapshot, to: &bundle)
                    attestation.policyID.map { _ = policyIDs.insert($0) }
                    evidenceIncluded += 1
                }
            } else if record.action == "policy-version", let version = policyVersion(record.subject),
                let id = try snapshot.policyID(name: version.name, version: version.version)
            {
                policyIDs.insert(id)
            }
            let done = record.sequence - sequences.lowerBound + 1
            if done % 65_536 == 0 { progress?(done, total) }
        }
        guard let first, let last else { throw AuditError.request("the range holds no records") }
        let index = try addPolicies(policyIDs.sorted(), snapshot: snapshot, to: &bundle)
        let checkpoints = try snapshot.checkpoints(in: sequences)
        try bundle.add(BundleLayout.checkpoints, checkpoints.map(RecordFormats.jsonLine).joined())
        try bundle.add(BundleLayout.records, records)
        try bundle.add(BundleLayout.recordsCSV, csv)
        let summary = BundleSummary(
            format: BundleLayout.format, exportedAt: AuditChain.timestamp(now), firstSequence: first.sequence,
            lastSequence: last.sequence,
            records: total, previousHash: Hex.encode(first.previousHash), headHash: Hex.encode(last.hash),
            from: request.from, to: request.to,
            machine: request.machine, attestations: attestations, evidenceIncluded: evidenceIncluded,
            policies: index.count,
            checkpoints: checkpoints.count, keyFingerprint: key.publicKey.fingerprint)
        try bundle.add(BundleLayout.summary, try BundleJSON.encode(summary))
        try bundle.finish(signingWith: key)
        progress?(total, total)
        return summary
    }

    private static func addEvidence(
        _ attestation: ExportedAttestation, record: AuditRecord, snapshot: AuditSnapshot, to bundle: inout BundleWriter
    ) throws {
        let folder = BundleLayout.evidenceFolder(attestation.id)
        for (name, contents) in attestation.evidence.files { try bundle.add(folder + name, contents) }
        let policy = try attestation.policyID.flatMap { try snapshot.policy(id: $0) }
        let facts = AttestationFacts(
            attestation: attestation.id, sequence: record.sequence, machine: attestation.machineName,
            machineID: attestation.machineID,
            passed: attestation.passed, reasons: attestation.reasons,
            policy: policy.map {
                .init(id: $0.id, name: $0.name, version: $0.version, file: BundleLayout.policyFile($0.id))
            },
            evidenceSHA256: Hex.encode(attestation.evidence.digest))
        try bundle.add(folder + BundleLayout.attestationFile, try BundleJSON.encode(facts))
    }

    private static func addPolicies(_ ids: [Int64], snapshot: AuditSnapshot, to bundle: inout BundleWriter) throws
        -> [PolicyIndexEntry]
    {
        var index: [PolicyIndexEntry] = []
        for id in ids {
            guard let policy = try snapshot.policy(id: id) else { continue }
            let yaml = Array(policy.yaml.utf8)
            try bundle.add(BundleLayout.policyFile(id), yaml)
            index.append(
                PolicyIndexEntry(
                    id: id, name: policy.name, version: policy.version, file: BundleLayout.policyFile(id),
                    sha256: Hex.encode(DigestAlgorithm.sha256.hash(yaml))))
        }
        try bundle.add(BundleLayout.policyIndex, try BundleJSON.encode(index))
        return index
    }

    /// The policy a `policy/NAME/VERSION` subject names.
    static func policyVersion(_ subject: String) -> (name: String, version: Int)? {
        guard subject.hasPrefix("policy/"), let slash = subject.lastIndex(of: "/"),
            let version = Int(subject[subject.index(after: slash)...])
        else { return nil }
        let name = subject[subject.index(subject.startIndex, offsetBy: 7)..<slash]
        return name.isEmpty ? nil : (String(name), version)
    }
}

/// The bundle's small JSON files: sorted keys, pretty-printed, so they diff well.
enum BundleJSON {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [0x0a]
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

extension AuditExportRequest {
    /// A `--from`/`--to` argument in the chain's time format: an RFC 3339 UTC time
    /// (`2026-11-22T05:00:00Z`, optionally with milliseconds) or a date (`2026-11-22`),
    /// which means its first millisecond, or with `isEnd` its last.
    public static func boundary(_ text: String, isEnd: Bool) throws(AuditError) -> String {
        let dateOnly = /^\d{4}-\d{2}-\d{2}$/
        let full = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,3})?Z$/
        if text.wholeMatch(of: dateOnly) != nil { return text + (isEnd ? "T23:59:59.999Z" : "T00:00:00.000Z") }
        guard let match = text.wholeMatch(of: full) else {
            throw AuditError.request("\(text) is neither a date (2026-11-22) nor a UTC time (2026-11-22T05:00:00Z)")
        }
        let fraction = String((match.output.2 ?? ".").dropFirst())
        let padding = String(repeating: isEnd ? "9" : "0", count: 3 - fraction.count)
        return match.output.1 + "." + fraction + padding + "Z"
    }
}
