import Audit

/// `warden audit verify`'s report for people.
enum VerificationText {
    static func print(_ report: AuditVerification) {
        Swift.print("bundle: \(report.bundle)")
        let fingerprint = report.keyFingerprint ?? "none"
        Swift.print(
            report.anchored
                ? "audit key: \(fingerprint) (pinned with --key)"
                : "audit key: \(fingerprint) — trust NOT anchored: compare this fingerprint with the one you were given, or pass --key"
        )
        if let first = report.firstSequence, let last = report.lastSequence {
            Swift.print("records: \(first)–\(last) (\(report.records)), head \(report.headHash ?? "")")
        }
        Swift.print("checkpoints: \(report.checkpointsVerified) verified")
        var attestations = "attestations: \(report.attestations), evidence checked for \(report.evidenceChecked)"
        if report.evidenceNotIncluded > 0 {
            attestations += ", \(report.evidenceNotIncluded) without evidence in this export"
        }
        Swift.print(attestations)
        if report.reverified {
            Swift.print(
                "verdicts: \(report.verdictsReproduced) reproduced by re-verification"
                    + (report.refusalsRestingOnHistory > 0
                        ? ", \(report.refusalsRestingOnHistory) refusals rest on the machine's history, not its evidence"
                        : ""))
        } else {
            Swift.print("verdicts: not re-verified (--no-reverify)")
        }
        if let previous = report.previous {
            Swift.print(
                "previous export \(previous): "
                    + (report.sharedWithPrevious.map { "\($0) shared records identical" } ?? "not compared"))
        }
        if report.holds {
            Swift.print("result: everything holds")
        } else {
            Swift.print(
                "result: FAILS (\(report.failures.count) \(report.failures.count == 1 ? "failure" : "failures"))")
            for failure in report.failures { Swift.print("  - \(failure)") }
        }
    }
}
