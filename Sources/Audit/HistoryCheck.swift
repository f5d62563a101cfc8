import Store
import WardenCrypto

/// `--previous`: proof that a new export extends one an auditor already holds. Both
/// bundles' `records.jsonl` are streamed side by side: every record the two share must
/// be the same record with the same hash, the new one must reach the old one's head, and
/// every checkpoint of the old one within the new one's stretch must be there unchanged.
/// A server that holds the audit key can sign a rewritten history, but not this one.
enum HistoryCheck {
    static func compare(
        new bundle: String, newSummary: BundleSummary, newCheckpoints: [Int64: AuditCheckpoint],
        old previous: String, oldSummary: BundleSummary, oldCheckpoints: [Int64: AuditCheckpoint],
        findings: inout Findings
    ) throws(AuditError) -> Int64 {
        if newSummary.keyFingerprint != oldSummary.keyFingerprint {
            findings.fail(
                "the audit key changed since the previous export (\(oldSummary.keyFingerprint) → \(newSummary.keyFingerprint))"
            )
        }
        guard newSummary.lastSequence >= oldSummary.lastSequence else {
            findings.fail(
                "this export ends at record \(newSummary.lastSequence), before the previous export's head \(oldSummary.lastSequence)"
            )
            return 0
        }
        if newSummary.firstSequence == oldSummary.lastSequence + 1 {
            if newSummary.previousHash != oldSummary.headHash {
                findings.fail(
                    "record \(newSummary.firstSequence): does not chain to the previous export's head (history rewritten)"
                )
            }
            return 0
        }
        guard newSummary.firstSequence <= oldSummary.lastSequence else {
            findings.fail(
                "records \(oldSummary.lastSequence + 1)–\(newSummary.firstSequence - 1) lie between the two exports: nothing links them"
            )
            return 0
        }
        let shared = try compareSharedRecords(
            (bundle, BundleLayout.namesAppliances(format: newSummary.format)),
            (previous, BundleLayout.namesAppliances(format: oldSummary.format)),
            from: max(newSummary.firstSequence, oldSummary.firstSequence), through: oldSummary.lastSequence,
            findings: &findings)
        for (sequence, checkpoint) in oldCheckpoints.sorted(by: { $0.key < $1.key })
        where sequence >= newSummary.firstSequence {
            if newCheckpoints[sequence] != checkpoint {
                findings.fail("checkpoint \(sequence): in the previous export but missing or changed in this one")
            }
        }
        return shared
    }

    /// Streams both `records.jsonl` (each bundle with whether its format names appliances)
    /// and compares the records in `from…through`.
    private static func compareSharedRecords(
        _ new: (bundle: String, namesAppliances: Bool), _ old: (bundle: String, namesAppliances: Bool),
        from: Int64, through: Int64, findings: inout Findings
    ) throws(AuditError) -> Int64 {
        guard let newRecords = try RecordStream(bundle: new.bundle, path: BundleLayout.records),
            let oldRecords = try RecordStream(bundle: old.bundle, path: BundleLayout.records)
        else { return 0 }
        func next(_ stream: RecordStream) throws(AuditError) -> AuditRecord? {
            let naming = stream === newRecords ? new.namesAppliances : old.namesAppliances
            while let line = try stream.nextLine() {
                guard let record = try? RecordFormats.record(jsonLine: line, namingAppliance: naming) else { continue }
                if record.sequence >= from { return record }
            }
            return nil
        }
        var shared: Int64 = 0
        var newRecord = try next(newRecords), oldRecord = try next(oldRecords)
        while let old = oldRecord, old.sequence <= through {
            guard let new = newRecord else {
                findings.fail("record \(old.sequence): in the previous export but not in this one")
                break
            }
            if new.sequence < old.sequence { newRecord = try next(newRecords); continue }
            if new.sequence > old.sequence {
                findings.fail("record \(old.sequence): in the previous export but not in this one")
                oldRecord = try next(oldRecords)
                continue
            }
            if new != old {
                findings.fail("record \(old.sequence): differs from the previous export (history rewritten)")
            }
            shared += 1
            newRecord = try next(newRecords)
            oldRecord = try next(oldRecords)
        }
        return shared
    }
}
