import Foundation
@testable import Audit
import Store
import Testing
import TestSupport

/// Later exports prove they extend earlier ones; narrowed exports stay whole chains.
@Suite struct ExportHistoryTests {
    let fixture: AuditFixture
    init() throws { fixture = try AuditFixture.get() }

    /// A private copy of the fixture's state folder, its store, and a place for bundles.
    func copy() throws -> (store: EnrolmentStore, key: AuditKey, folder: URL) {
        let folder = try TestPaths.temporaryDirectory("audit-history")
        try FileManager.default.copyItem(atPath: fixture.stateDir, toPath: folder.appendingPathComponent("state").path)
        let copied = AuditFixture.copy(of: fixture, stateDir: folder.appendingPathComponent("state").path)
        return (try copied.store(), try copied.key(), folder)
    }

    @Test func aLaterExportExtendsAnEarlierOneAndARewrittenHistoryFails() throws {
        let (store, key, folder) = try copy()
        let first = folder.appendingPathComponent("first.tar.gz").path
        _ = try AuditExporter.export(from: store, key: key, request: .init(), to: first)
        try store.audit([
            AuditEvent(
                actor: "operator/alice", action: "revocation", subject: "machine/2", details: "machine node-1 revoked")
        ])
        try store.checkpointAudit()
        let second = folder.appendingPathComponent("second.tar.gz").path
        _ = try AuditExporter.export(from: store, key: key, request: .init(), to: second)

        let extends = try AuditVerifier.verify(bundle: second, key: key.publicKey, previous: first, reverify: false)
        #expect(extends.holds, "\(extends.failures)")
        #expect(extends.sharedWithPrevious == 600 && extends.records == 601)

        // The key's holder rewrites record 120 and re-signs everything: the bundle verifies on
        // its own, but not as an extension of what the auditor already holds.
        let editor = try BundleEditor(second)
        var records = try editor.records()
        let original = records[119]
        records[119] = AuditRecord(
            sequence: original.sequence, time: original.time, actor: original.actor, action: original.action,
            subject: original.subject, details: original.details + " (rewritten)",
            evidenceSHA256: original.evidenceSHA256,
            previousHash: original.previousHash, hash: original.hash)
        try editor.forge(records, signingWith: key)
        let forged = try editor.pack()
        let alone = try AuditVerifier.verify(bundle: forged, key: key.publicKey, reverify: false)
        #expect(alone.holds, "the forgery should verify on its own: \(alone.failures)")
        let against = try AuditVerifier.verify(bundle: forged, key: key.publicKey, previous: first, reverify: false)
        #expect(
            against.failures.contains { $0.hasPrefix("record 120: differs from the previous export") },
            "\(against.failures)")
        #expect(against.failures.contains { $0.hasPrefix("checkpoint ") && $0.contains("missing or changed") })

        // An older export is not an extension of a newer one.
        let backwards = try AuditVerifier.verify(bundle: first, key: key.publicKey, previous: second, reverify: false)
        #expect(
            backwards.failures.contains { $0.contains("before the previous export's head") }, "\(backwards.failures)")
    }

    @Test func aTimeRangeIsAContiguousStretchThatChainsToTheOneBefore() throws {
        let (store, key, folder) = try copy()
        let early = folder.appendingPathComponent("early.tar.gz").path
        let earlySummary = try AuditExporter.export(from: store, key: key, request: .init(), to: early)
        Thread.sleep(forTimeInterval: 0.01)
        let cut = AuditChain.timestamp(Date())
        try store.audit(
            (0..<5).map {
                AuditEvent(actor: "system", action: "server-start", subject: "server", details: "start \($0)")
            })
        let late = folder.appendingPathComponent("late.tar.gz").path
        let summary = try AuditExporter.export(from: store, key: key, request: .init(from: cut), to: late)
        #expect(summary.firstSequence == 601 && summary.records == 5 && summary.previousHash == earlySummary.headHash)
        let report = try AuditVerifier.verify(bundle: late, key: key.publicKey, previous: early)
        #expect(report.holds, "\(report.failures)")
        #expect(throws: AuditError.self) {
            try AuditExporter.export(from: store, key: key, request: .init(from: "2999-01-01T00:00:00.000Z"), to: late)
        }
    }

    @Test func aMachineFilterNarrowsTheEvidenceNeverTheRecords() throws {
        let (store, key, folder) = try copy()
        let bundle = folder.appendingPathComponent("node-1.tar.gz").path
        let summary = try AuditExporter.export(from: store, key: key, request: .init(machine: "node-1"), to: bundle)
        #expect(summary.records == 600 && summary.attestations == 40 && summary.evidenceIncluded == 10)
        let report = try AuditVerifier.verify(bundle: bundle, key: key.publicKey)
        #expect(report.holds && report.evidenceChecked == 10 && report.evidenceNotIncluded == 30, "\(report.failures)")
        #expect(throws: AuditError.request("no machine is named nobody")) {
            try AuditExporter.export(from: store, key: key, request: .init(machine: "nobody"), to: bundle)
        }
    }

    @Test func exportBoundariesTakeDatesAndTimes() throws {
        #expect(try AuditExportRequest.boundary("2026-11-22", isEnd: false) == "2026-11-22T00:00:00.000Z")
        #expect(try AuditExportRequest.boundary("2026-11-22", isEnd: true) == "2026-11-22T23:59:59.999Z")
        #expect(try AuditExportRequest.boundary("2026-11-22T05:06:07Z", isEnd: true) == "2026-11-22T05:06:07.999Z")
        #expect(try AuditExportRequest.boundary("2026-11-22T05:06:07.1Z", isEnd: false) == "2026-11-22T05:06:07.100Z")
        #expect(throws: AuditError.self) { try AuditExportRequest.boundary("yesterday", isEnd: false) }
        #expect(throws: AuditError.self) { try AuditExportRequest.boundary("2026-11-22T05:06:07+01:00", isEnd: false) }
    }
}
