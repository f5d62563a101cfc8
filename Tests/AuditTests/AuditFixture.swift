import Foundation
@testable import Audit
import Server
import Store
import TestSupport
import WardenCrypto

/// A real audit chain made once per test run by `warden-bench audit` (software TPM
/// identities enrolling and attesting through the real attestation service, one attestation
/// in ten refused), and its export. Tests copy what they change.
struct AuditFixture: Sendable {
    let stateDir: String
    let bundle: String
    let publicKeyFile: String

    static let shared = Result { try AuditFixture() }

    private init() throws {
        let work = try TestPaths.temporaryDirectory("audit-fixture").path
        let made = try Command.run(
            TestPaths.benchBinary.path,
            [
                "audit", "--records", "600", "--attestations", "40", "--checkpoint-interval", "50", "--work-dir", work,
                "--keep",
            ])
        guard made.status == 0 else { throw CommandFailure("warden-bench audit: \(made.stderr)") }
        stateDir = work + "/state"
        bundle = work + "/audit.tar.gz"
        publicKeyFile = work + "/audit-key.pem"
    }

    static func get() throws -> AuditFixture { try shared.get() }

    private init(stateDir: String, bundle: String, publicKeyFile: String) {
        self.stateDir = stateDir
        self.bundle = bundle
        self.publicKeyFile = publicKeyFile
    }

    /// The same fixture with its state folder copied to `stateDir`.
    static func copy(of fixture: AuditFixture, stateDir: String) -> AuditFixture {
        AuditFixture(stateDir: stateDir, bundle: fixture.bundle, publicKeyFile: fixture.publicKeyFile)
    }

    /// The audit key (private), as only the server holds it.
    func key() throws -> AuditKey { try AuditKey(file: stateDir + "/audit.key") }

    func publicKey() throws -> AuditPublicKey { try key().publicKey }

    /// The store behind the fixture, with checkpoints signed as the server signs them, its
    /// records naming `appliance`.
    func store(appliance: String? = nil) throws -> EnrolmentStore {
        let state = try StateFolder.existing(at: stateDir)
        return try EnrolmentStore(
            path: state.databasePath, key: state.keyEncryptionKey(), auditSigner: key().checkpointSigner(interval: 50),
            appliance: appliance)
    }
}

/// An extracted copy of a bundle to change and pack again, as someone tampering would.
struct BundleEditor {
    let folder: URL

    init(_ bundle: String) throws {
        folder = try TestPaths.temporaryDirectory("bundle-edit")
        let extracted = try Command.run("tar", ["-xzf", bundle, "-C", folder.path])
        guard extracted.status == 0 else { throw CommandFailure("tar -x: \(extracted.stderr)") }
    }

    func read(_ path: String) throws -> [UInt8] { try TestPaths.bytes(folder.appendingPathComponent(path)) }

    func write(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: folder.appendingPathComponent(path))
    }

    func text(_ path: String) throws -> String { String(decoding: try read(path), as: UTF8.self) }

    /// The lines of `records.jsonl`.
    func recordLines() throws -> [String] { try text(BundleLayout.records).split(separator: "\n").map(String.init) }

    func setRecordLines(_ lines: [String]) throws {
        try write(BundleLayout.records, Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    func records() throws -> [AuditRecord] {
        let format = try BundleJSON.decode(BundleSummary.self, try read(BundleLayout.summary)).format
        return try recordLines().map {
            try RecordFormats.record(
                jsonLine: ArraySlice($0.utf8), namingAppliance: BundleLayout.namesAppliances(format: format))
        }
    }

    /// Replaces the records as a holder of the audit key would, to forge a history that
    /// verifies on its own: chain hashes, CSV, bundle.json, checkpoints and manifest redone.
    func forge(_ records: [AuditRecord], signingWith key: AuditKey) throws {
        var chained: [AuditRecord] = []
        for record in records {
            chained.append(record.rehashed(after: chained.last.map { $0.hash } ?? record.previousHash))
        }
        try setRecordLines(chained.map { String(RecordFormats.jsonLine($0).dropLast()) })
        try write(
            BundleLayout.recordsCSV,
            Array(
                (RecordFormats.csvHeader(BundleLayout.csvColumns(format: BundleLayout.format))
                    + chained.map { RecordFormats.csvLine($0) }.joined())
                    .utf8)
        )
        let hashes = Dictionary(uniqueKeysWithValues: chained.map { ($0.sequence, $0.hash) })
        let checkpoints = try text(BundleLayout.checkpoints).split(separator: "\n").map { line in
            let old = try RecordFormats.checkpoint(jsonLine: ArraySlice(line.utf8))
            let hash = hashes[old.sequence] ?? old.hash
            let signature = try key.sign(
                AuditChain.checkpointMessage(sequence: old.sequence, hash: hash, signedAt: old.signedAt))
            return RecordFormats.jsonLine(
                AuditCheckpoint(sequence: old.sequence, hash: hash, signedAt: old.signedAt, signature: signature))
        }
        try write(BundleLayout.checkpoints, Array(checkpoints.joined().utf8))
        var summary = try BundleJSON.decode(BundleSummary.self, try read(BundleLayout.summary))
        summary.headHash = Hex.encode(chained.last?.hash ?? [])
        try write(BundleLayout.summary, try BundleJSON.encode(summary))
        try resignManifest(with: key)
    }

    /// Recomputes every file's digest in the manifest and signs it with `key`.
    func resignManifest(with key: AuditKey) throws {
        let listed = try text(BundleLayout.manifest).split(separator: "\n").map { String($0.dropFirst(66)) }
        let manifest = try listed.map { Hex.encode(DigestAlgorithm.sha256.hash(try read($0))) + "  " + $0 + "\n" }
            .joined()
        try write(BundleLayout.manifest, Array(manifest.utf8))
        try write(BundleLayout.manifestSignature, try key.sign(Array(manifest.utf8)))
    }

    /// Packs the folder into a new bundle.
    func pack() throws -> String {
        let out = try TestPaths.temporaryDirectory("bundle-packed").appendingPathComponent("edited.tar.gz").path
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        let packed = try Command.run("tar", ["-czf", out, "-C", folder.path, "--"] + names)
        guard packed.status == 0 else { throw CommandFailure("tar -c: \(packed.stderr)") }
        return out
    }
}
