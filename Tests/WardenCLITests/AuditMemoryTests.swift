import Foundation
import Testing
import TestSupport

/// A chain of a million records exports and verifies in the memory a tenth of it needs:
/// `warden-bench audit` builds each chain and runs `warden audit export` and `warden audit
/// verify` as processes whose peak resident memory it samples.
@Suite struct AuditMemoryTests {
    func bench(records: Int) throws -> [String: any Sendable] {
        let work = try TestPaths.temporaryDirectory("audit-memory").path
        let result = try Command.run(
            TestPaths.benchBinary.path,
            [
                "audit", "--records", String(records), "--attestations", "20", "--work-dir", work, "--format", "json",
            ])
        guard result.status == 0 else { throw CommandFailure("warden-bench audit: \(result.stderr)") }
        return try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: any Sendable])
    }

    /// Waits for its processes on a thread of its own: for minutes, a cooperative thread
    /// would be one of the two that every other test shares.
    @Test func aMillionRecordsExportAndVerifyWithinConstantMemory() async throws {
        let (tenth, million) = try await offPool { [self] in
            (try bench(records: 100_000), try bench(records: 1_000_000))
        }
        #expect(million["records"] as? Int == 1_000_000)
        for phase in ["export", "chainVerification", "fullVerification"] {
            let small = try #require((tenth[phase] as? [String: Any])?["maxResidentMiB"] as? Double)
            let large = try #require((million[phase] as? [String: Any])?["maxResidentMiB"] as? Double)
            #expect(small > 1 && large > 1, "\(phase): no memory figure")
            #expect(large <= small + 8, "\(phase): \(large) MiB for 1,000,000 records, \(small) MiB for 100,000")
        }
    }
}
