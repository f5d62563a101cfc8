import Metrics

/// The store's metric families: each transaction's duration as its caller waited for it
/// (a grouped write's includes its group's commit), the audit records committed, and the
/// durable commits of the line of writes (``GroupCommit``) with the writes they held: their
/// ratio is how many writes share one commit.
enum StoreMetrics {
    static let transactionDuration = Metrics.Timer(label: "warden_database_transaction_duration_seconds")
    static let auditRecords = Counter(label: "warden_audit_records_total")
    static let commits = Counter(label: "warden_database_commits_total")
    static let committedWrites = Counter(label: "warden_database_committed_writes_total")
}

/// The audit records one write appended, read once it committed.
final class AppendedRecords: @unchecked Sendable {
    /// Written inside the write, read after it returned: never at once.
    var count = 0
}
