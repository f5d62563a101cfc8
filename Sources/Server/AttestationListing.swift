import Audit
import Foundation
import Store
import WardenAPI

extension AdminService {
    /// The most attestations one listing returns.
    static let maxListedAttestations = 1_000

    /// Attestations, newest first, filtered by `query`'s `machine`, `verdict` (`passed` or
    /// `refused`), `since` and `until` (a date or a UTC time) and `limit`.
    func attestations(query: [String: String], by caller: AdminIdentity) throws(AdminError) -> [AttestationSummary] {
        var filter = AttestationFilter(machine: query["machine"])
        switch query["verdict"] {
        case nil: break
        case "passed": filter.passed = true
        case "refused": filter.passed = false
        case let other?: throw .invalid("verdict is passed or refused, not \(other)")
        }
        filter.since = try query["since"].map { text throws(AdminError) in try Self.time(text, isEnd: false) }
        filter.until = try query["until"].map { text throws(AdminError) in try Self.time(text, isEnd: true) }
        if let limit = query["limit"] {
            guard let number = Int(limit), (1...Self.maxListedAttestations).contains(number) else {
                throw .invalid("limit is a number from 1 to \(Self.maxListedAttestations)")
            }
            filter.limit = number
        }
        return try stored { try store.attestations(matching: filter) }
    }

    /// One attestation, with its event log.
    func attestation(id: Int64, by caller: AdminIdentity) throws(AdminError) -> AttestationDetail {
        let (summary, eventLog) = try stored { try store.attestation(id: id) }
        return AttestationDetail(attestation: summary, eventLog: eventLog.map { Data($0).base64EncodedString() })
    }

    private static func time(_ text: String, isEnd: Bool) throws(AdminError) -> Date {
        do {
            let boundary = try AuditExportRequest.boundary(text, isEnd: isEnd)
            return try Date(boundary, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true))
        } catch {
            throw .invalid("\(text) is neither a date (2026-11-22) nor a UTC time (2026-11-22T05:00:00Z)")
        }
    }
}
