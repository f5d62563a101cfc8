import Store

/// What an export bundle holds, by path. Every file is listed with its SHA-256 in
/// `manifest.sha256` (the format `sha256sum -c` reads), which the audit key signs.
public enum BundleLayout {
    public static let readme = "README.txt"
    public static let publicKey = "audit-key.pem"
    public static let summary = "bundle.json"
    public static let records = "records.jsonl"
    public static let recordsCSV = "records.csv"
    public static let checkpoints = "checkpoints.jsonl"
    public static let policyIndex = "policies/index.json"
    public static let manifest = "manifest.sha256"
    public static let manifestSignature = "manifest.sha256.sig"
    /// The format written in `bundle.json`: 2 adds `legacy-bios` and `judgement.json` to an
    /// attestation's evidence; 3 adds the appliance that wrote each record; 4 names the
    /// columns of `records.csv` as `records.jsonl` names its fields.
    public static let format = "warden-audit-bundle/4"
    /// The formats this verifier reads.
    static let readableFormats: Set<String> = [
        "warden-audit-bundle/1", "warden-audit-bundle/2", "warden-audit-bundle/3", format,
    ]

    /// Whether records of bundle format `format` carry the appliance (an unreadable
    /// `bundle.json` is read as the current format).
    static func namesAppliances(format: String?) -> Bool {
        !["warden-audit-bundle/1", "warden-audit-bundle/2"].contains(format ?? self.format)
    }

    /// The columns of `records.csv` in bundle format `format`.
    static func csvColumns(format: String?) -> RecordFormats.CSVColumns {
        RecordFormats.CSVColumns(
            namesAppliance: namesAppliances(format: format),
            namedAsJSON: (format ?? self.format) == self.format)
    }

    /// The file of policy version `id`.
    static func policyFile(_ id: Int64) -> String { "policies/\(id).yaml" }

    /// The folder of attestation `id`'s evidence.
    static func evidenceFolder(_ id: Int64) -> String { "evidence/\(id)/" }

    /// The attestation's verdict and references, beside its evidence files.
    static let attestationFile = "attestation.json"

    /// The attestation a record of `subject` (`machine/M/attestation/A`) is about.
    static func attestationReference(_ subject: String) -> (machineID: Int64, attestationID: Int64)? {
        let parts = subject.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "machine", parts[2] == "attestation", let machine = Int64(parts[1]),
            let attestation = Int64(parts[3])
        else {
            return nil
        }
        return (machine, attestation)
    }

    /// The machine a record of `subject` (`machine/M…`) is about.
    static func machineReference(_ subject: String) -> Int64? {
        let parts = subject.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "machine" else { return nil }
        return Int64(parts[1])
    }
}

/// `bundle.json`: what the export covers.
public struct BundleSummary: Codable, Sendable, Equatable {
    public var format: String
    public var exportedAt: String
    public var firstSequence: Int64
    public var lastSequence: Int64
    public var records: Int64
    /// The hash the first record follows (the zero hash when it is the chain's first).
    public var previousHash: String
    /// The last record's hash.
    public var headHash: String
    public var from: String?
    public var to: String?
    /// The machine whose evidence alone is included (all records are, always).
    public var machine: String?
    public var attestations: Int
    public var evidenceIncluded: Int
    public var policies: Int
    public var checkpoints: Int
    public var keyFingerprint: String
}

/// `evidence/ID/attestation.json`: an attestation's recorded verdict and what it rests on.
struct AttestationFacts: Codable, Equatable {
    struct PolicyReference: Codable, Equatable {
        var id: Int64
        var name: String
        var version: Int
        var file: String
    }

    var attestation: Int64
    var sequence: Int64
    var machine: String
    var machineID: Int64
    var passed: Bool
    var reasons: [String]
    var policy: PolicyReference?
    var evidenceSHA256: String
}

/// One entry of `policies/index.json`.
struct PolicyIndexEntry: Codable, Equatable {
    var id: Int64
    var name: String
    var version: Int
    var file: String
    var sha256: String
}

extension BundleSummary {
    /// The `bundle.json` of the bundle at `path` (as written; verifying it is the verifier's work).
    public static func read(from path: String) throws(AuditError) -> BundleSummary {
        var reader = try open(path)
        do {
            while let entry = try reader.next() {
                if entry.path == BundleLayout.summary {
                    return try BundleJSON.decode(BundleSummary.self, try reader.readAll(limit: 64 << 10))
                }
            }
        } catch { throw AuditError.bundle("\(path): \(error)") }
        throw AuditError.bundle("\(path) has no \(BundleLayout.summary)")
    }
}
