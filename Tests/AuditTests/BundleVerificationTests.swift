import Foundation
@testable import Audit
import Store
import Testing
import TestSupport
import WardenCrypto

/// An export verifies; every kind of tampering is found and named.
@Suite struct BundleVerificationTests {
    let fixture: AuditFixture
    init() throws { fixture = try AuditFixture.get() }

    func verify(_ bundle: String, previous: String? = nil) throws -> AuditVerification {
        try AuditVerifier.verify(bundle: bundle, key: fixture.publicKey(), previous: previous)
    }

    /// Whether some failure mentions every one of `words`.
    func names(_ report: AuditVerification, _ words: String...) -> Bool {
        report.failures.contains { failure in words.allSatisfy { failure.contains($0) } }
    }

    @Test func anExportVerifiesAndReproducesEveryVerdict() throws {
        let report = try verify(fixture.bundle)
        #expect(report.holds, "\(report.failures)")
        #expect(report.anchored && report.records == 600 && report.firstSequence == 1 && report.lastSequence == 600)
        #expect(report.attestations == 40 && report.evidenceChecked == 40)
        #expect(report.verdictsReproduced == 40, "36 passes and 4 refusals re-verified")
        #expect(report.checkpointsVerified == 12, "a checkpoint every 50 records")
        let summary = try BundleSummary.read(from: fixture.bundle)
        let fingerprint = try fixture.publicKey().fingerprint
        #expect(summary.keyFingerprint == fingerprint)
    }

    @Test func withoutAKeyTrustIsNotAnchored() throws {
        let report = try AuditVerifier.verify(bundle: fixture.bundle, key: nil)
        let fingerprint = try fixture.publicKey().fingerprint
        #expect(report.holds && !report.anchored && report.keyFingerprint == fingerprint)
    }

    @Test func oneByteChangedInARecordIsNamed() throws {
        let editor = try BundleEditor(fixture.bundle)
        var lines = try editor.recordLines()
        lines[41] = lines[41].replacingOccurrences(of: "\"details\":\"", with: "\"details\":\"X")
        try editor.setRecordLines(lines)
        let report = try verify(try editor.pack())
        #expect(names(report, "record 42:", "do not match its hash"), "\(report.failures)")
        #expect(names(report, "records.jsonl: altered"))
        // Even with the manifest signed again by the key's holder, the chain names the record.
        try editor.resignManifest(with: fixture.key())
        let resigned = try verify(try editor.pack())
        #expect(
            names(resigned, "record 42:", "do not match its hash") && !names(resigned, "records.jsonl: altered"),
            "\(resigned.failures)")
    }

    @Test func aRemovedRecordIsNamed() throws {
        let editor = try BundleEditor(fixture.bundle)
        var lines = try editor.recordLines()
        lines.remove(at: 99)
        try editor.setRecordLines(lines)
        try editor.resignManifest(with: fixture.key())
        let report = try verify(try editor.pack())
        #expect(names(report, "record 101: follows record 99"), "\(report.failures)")
        #expect(names(report, "record 101: does not chain to record 99"))
    }

    @Test func twoSwappedRecordsAreNamed() throws {
        let editor = try BundleEditor(fixture.bundle)
        var lines = try editor.recordLines()
        lines.swapAt(199, 200)
        try editor.setRecordLines(lines)
        try editor.resignManifest(with: fixture.key())
        let report = try verify(try editor.pack())
        #expect(names(report, "record 201: follows record 199"), "\(report.failures)")
        #expect(names(report, "record 200: follows record 201"))
    }

    @Test func aRecordAppendedByHandIsNamed() throws {
        let editor = try BundleEditor(fixture.bundle)
        let last = try #require(try editor.records().last)
        let unhashed = AuditRecord(
            sequence: last.sequence + 1, time: last.time, actor: "operator/mallory", action: "release",
            subject: "machine/1/attestation/1", details: "disk key", evidenceSHA256: nil, previousHash: last.hash,
            hash: [])
        let appended = AuditRecord(
            sequence: unhashed.sequence, time: unhashed.time, actor: unhashed.actor, action: unhashed.action,
            subject: unhashed.subject,
            details: unhashed.details, evidenceSHA256: nil, previousHash: last.hash, hash: AuditChain.hash(of: unhashed)
        )
        try editor.setRecordLines(try editor.recordLines() + [String(RecordFormats.jsonLine(appended).dropLast())])
        let report = try verify(try editor.pack())
        #expect(names(report, "records.jsonl: altered"), "\(report.failures)")
        #expect(names(report, "records.jsonl: ends at record 601", "bundle.json says record 600"))
        #expect(names(report, "record 601: a release that does not follow a passing attestation"))
    }

    @Test func alteredEvidenceIsNamed() throws {
        let editor = try BundleEditor(fixture.bundle)
        var pcrs = try editor.read("evidence/3/quote.pcrs")
        pcrs[pcrs.count - 1] ^= 0x01
        try editor.write("evidence/3/quote.pcrs", pcrs)
        let report = try verify(try editor.pack())
        #expect(names(report, "evidence/3/quote.pcrs: altered"), "\(report.failures)")
        #expect(names(report, "evidence/3/: the evidence does not match the digest record"))
    }

    @Test func anAlteredPolicyIsNamed() throws {
        let editor = try BundleEditor(fixture.bundle)
        let index = try BundleJSON.decode([PolicyIndexEntry].self, try editor.read(BundleLayout.policyIndex))
        let policy = try #require(index.first)
        let yaml = try editor.text(policy.file)
        let digit = try #require(yaml.firstIndex { "0123456789abcdef".contains($0) && $0 != "0" })
        try editor.write(policy.file, Array((yaml[..<digit] + "0" + yaml[yaml.index(after: digit)...]).utf8))
        try editor.resignManifest(with: fixture.key())
        let report = try verify(try editor.pack())
        #expect(names(report, "\(policy.file): differs from the policy version record"), "\(report.failures)")
    }

    @Test func anAlteredManifestIsNamed() throws {
        let editor = try BundleEditor(fixture.bundle)
        let manifest = try editor.text(BundleLayout.manifest)
        try editor.write(BundleLayout.manifest, Array(("0" + manifest.dropFirst()).utf8))
        let report = try verify(try editor.pack())
        #expect(names(report, "manifest.sha256.sig: the manifest's signature does not verify"), "\(report.failures)")
        #expect(report.failures.contains { $0.hasSuffix(": altered (its SHA-256 differs from the manifest)") })
    }

    @Test func aSignatureFromAnotherKeyIsNamed() throws {
        let editor = try BundleEditor(fixture.bundle)
        let mallory = AuditKey.generate()
        try editor.resignManifest(with: mallory)
        let signedByOther = try verify(try editor.pack())
        #expect(
            names(signedByOther, "manifest.sha256.sig: the manifest's signature does not verify"),
            "\(signedByOther.failures)")
        // Swapping the bundle's key for the forger's does not help against a pinned key.
        try editor.write(BundleLayout.publicKey, Array(mallory.publicKey.pem.utf8))
        try editor.resignManifest(with: mallory)
        let keySwapped = try verify(try editor.pack())
        #expect(names(keySwapped, "audit-key.pem: not the pinned key"), "\(keySwapped.failures)")
        #expect(names(keySwapped, "manifest.sha256.sig: the manifest's signature does not verify"))
        // Unpinned, the forger's key is reported, and the real key's checkpoints do not verify with it.
        let unpinned = try AuditVerifier.verify(bundle: try editor.pack(), key: nil)
        #expect(unpinned.keyFingerprint == mallory.publicKey.fingerprint && !unpinned.anchored)
        #expect(
            unpinned.failures.contains { $0.hasPrefix("checkpoint ") && $0.hasSuffix("its signature does not verify") },
            "\(unpinned.failures)")
    }

    @Test func somethingThatIsNotABundleIsAClearError() throws {
        let folder = try TestPaths.temporaryDirectory("not-a-bundle")
        let garbage = folder.appendingPathComponent("garbage.tar.gz").path
        try Data("not an archive".utf8).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: AuditError.self) { try verify(garbage) }
        // A path out of place inside a real archive is named, never extracted anywhere.
        let editor = try BundleEditor(fixture.bundle)
        try FileManager.default.createDirectory(
            at: editor.folder.appendingPathComponent("evidence/9999"), withIntermediateDirectories: true)
        try editor.write("evidence/9999/payload.sh", Array("#!/bin/sh\n".utf8))
        let report = try verify(try editor.pack())
        #expect(names(report, "evidence/9999/payload.sh: not part of a Warden bundle"), "\(report.failures)")
    }
}
