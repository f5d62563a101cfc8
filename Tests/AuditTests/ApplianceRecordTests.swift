import Foundation
@testable import Audit
import Store
import Testing
import TestSupport

/// Records name the appliance that wrote them (bundle format 3); records and bundles from
/// before appliances were named verify as they did.
@Suite struct ApplianceRecordTests {
    let fixture: AuditFixture
    init() throws { fixture = try AuditFixture.get() }

    @Test func twoAppliancesContinueOneChainOfUnnamedRecordsAndTheirNamesAreHashed() throws {
        let folder = try TestPaths.temporaryDirectory("appliance-records")
        let stateDir = folder.appendingPathComponent("state").path
        try FileManager.default.copyItem(atPath: fixture.stateDir, toPath: stateDir)
        let copied = AuditFixture.copy(of: fixture, stateDir: stateDir)
        for appliance in ["appliance-a", "appliance-b"] {
            try copied.store(appliance: appliance).audit(
                actor: "system", action: "server-start", subject: "appliance/\(appliance)", details: "started")
        }
        try copied.store(appliance: "appliance-b").checkpointAudit()
        let bundle = folder.appendingPathComponent("audit.tar.gz").path
        _ = try AuditExporter.export(from: try copied.store(), key: copied.key(), request: .init(), to: bundle)

        let report = try AuditVerifier.verify(bundle: bundle, key: fixture.publicKey(), reverify: false)
        #expect(report.holds, "\(report.failures)")
        let editor = try BundleEditor(bundle)
        let records = try editor.records()
        #expect(records.count == 602 && records.prefix(600).allSatisfy { $0.appliance == nil })
        #expect(records.suffix(2).map(\.appliance) == ["appliance-a", "appliance-b"])
        let csv = try editor.text(BundleLayout.recordsCSV).split(separator: "\r\n")
        #expect(
            csv.first == "sequence,time,appliance,actor,action,subject,details,evidenceSHA256,previousHash,hash",
            "records.csv names its columns as records.jsonl names its fields")
        let fields = try #require(
            try JSONSerialization.jsonObject(with: Data(try editor.recordLines()[0].utf8)) as? [String: Any])
        #expect(Set(fields.keys) == Set(csv.first?.split(separator: ",").map(String.init) ?? []))
        #expect(csv.last?.hasPrefix("602,\(records[601].time),appliance-b,system,server-start,") == true)

        // Another name, or none, and the record's hash no longer holds.
        for forged in [#""appliance":"appliance-a""#, #""appliance":null"#] {
            let edited = try BundleEditor(bundle)
            var lines = try edited.recordLines()
            lines[601] = lines[601].replacingOccurrences(of: #""appliance":"appliance-b""#, with: forged)
            try edited.setRecordLines(lines)
            try edited.resignManifest(with: copied.key())
            let tampered = try AuditVerifier.verify(
                bundle: try edited.pack(), key: fixture.publicKey(), reverify: false)
            #expect(
                tampered.failures.contains { $0.hasPrefix("record 602:") && $0.contains("do not match its hash") },
                "\(forged): \(tampered.failures)")
        }
    }

    /// A bundle as Warden wrote it before appliances were named: format 2, no `appliance`
    /// field in `records.jsonl` and no column in `records.csv`.
    @Test func aBundleOfTheFormatBeforeAppliancesStillVerifies() throws {
        let editor = try BundleEditor(fixture.bundle)
        try editor.setRecordLines(
            try editor.recordLines().map { $0.replacingOccurrences(of: #","appliance":null"#, with: "") })
        #expect(try editor.recordLines().allSatisfy { !$0.contains("appliance") })
        var summary = try BundleJSON.decode(BundleSummary.self, try editor.read(BundleLayout.summary))
        summary.format = "warden-audit-bundle/2"
        try editor.write(BundleLayout.summary, try BundleJSON.encode(summary))
        let records = try editor.records()
        try editor.write(
            BundleLayout.recordsCSV,
            Array(
                (RecordFormats.csvHeader(BundleLayout.csvColumns(format: "warden-audit-bundle/2"))
                    + records.map { RecordFormats.csvLine($0, namingAppliance: false) }.joined()).utf8))
        try editor.resignManifest(with: fixture.key())

        let report = try AuditVerifier.verify(bundle: try editor.pack(), key: fixture.publicKey())
        #expect(report.holds, "\(report.failures)")
        #expect(report.records == 600 && report.verdictsReproduced == 40)

        // Read as the current format, the same CSV no longer says what the records say.
        summary.format = BundleLayout.format
        try editor.write(BundleLayout.summary, try BundleJSON.encode(summary))
        try editor.resignManifest(with: fixture.key())
        let misread = try AuditVerifier.verify(bundle: try editor.pack(), key: fixture.publicKey(), reverify: false)
        #expect(misread.failures.contains { $0.hasPrefix("records.csv: does not say") }, "\(misread.failures)")
    }

    /// A bundle of format 3, whose `records.csv` named two columns in snake case, verifies as
    /// it did; read as the current format, its CSV no longer says what its records say.
    @Test func aBundleOfFormat3StillVerifies() throws {
        let editor = try BundleEditor(fixture.bundle)
        var summary = try BundleJSON.decode(BundleSummary.self, try editor.read(BundleLayout.summary))
        summary.format = "warden-audit-bundle/3"
        try editor.write(BundleLayout.summary, try BundleJSON.encode(summary))
        let header = RecordFormats.csvHeader(BundleLayout.csvColumns(format: summary.format))
        #expect(header.contains(",evidence_sha256,previous_hash,"))
        let csv = try editor.text(BundleLayout.recordsCSV)
        try editor.write(
            BundleLayout.recordsCSV, Array((header + csv.drop { $0 != "\r\n" }.dropFirst()).utf8))
        try editor.resignManifest(with: fixture.key())
        let report = try AuditVerifier.verify(bundle: try editor.pack(), key: fixture.publicKey(), reverify: false)
        #expect(report.holds, "\(report.failures)")
    }
}
