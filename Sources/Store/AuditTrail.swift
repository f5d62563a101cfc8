import Foundation
import GRDB

extension Database {
    /// Appends an audit record in the caller's transaction, so the change and its record
    /// commit together or not at all.
    func appendAudit(actor: String, action: String, subject: String, details: String, now: Date) throws {
        try execute(
            sql: "INSERT INTO audit (time, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)",
            arguments: [now, actor, action, subject, details])
    }
}
