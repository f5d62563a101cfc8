import Metrics

/// The store's metric families: each transaction's duration as its caller waited for it
/// (a grouped write's includes its group's commit), and the audit records committed.
enum StoreMetrics {
    static let transactionDuration = Metrics.Timer(label: "warden_database_transaction_duration_seconds")
    static let auditRecords = Counter(label: "warden_audit_records_total")
}

/// The audit records one write appended, read once it committed.
final class AppendedRecords: @unchecked Sendable {
    /// Written inside the write, read after it returned: never at once.
    var count = 0
}
