import Foundation
@testable import Store
import Testing
import TestSupport

/// The event logs a store remembers as kept: bounded, remembered only after their write
/// committed, and all forgotten when the database failed.
@Suite struct KeptEventLogsTests {
    private func digest(_ index: Int) -> [UInt8] { withUnsafeBytes(of: index.bigEndian) { Array($0) } }

    @Test func theOldestGoesFirstPastTheCapacity() {
        let kept = KeptEventLogs()
        for index in 0...KeptEventLogs.capacity { kept.remember(digest(index)) }
        kept.remember(digest(1))
        #expect(!kept.contains(digest(0)))
        #expect(kept.contains(digest(1)) && kept.contains(digest(KeptEventLogs.capacity)))
    }

    @Test func aLogIsRememberedOnceItsWriteCommittedAndAllAreForgottenWhenTheDatabaseFailed() throws {
        let (store, _, _) = try StoreBackend.sqlite.freshStore()
        let log = StoredEventLog(sha256: digest(7), bytes: [1, 2, 3])
        #expect(throws: StoreError.self) {
            try store.keepingEventLog(log) { () throws(StoreError) in throw StoreError.nonce("already used") }
        }
        #expect(!store.keptEventLogs.contains(log.sha256), "a write that failed kept nothing")
        try store.keepingEventLog(log) {}
        #expect(store.keptEventLogs.contains(log.sha256))
        #expect(throws: StoreError.self) {
            try store.keepingEventLog(nil) { () throws(StoreError) in throw StoreError.nonce("already used") }
        }
        #expect(store.keptEventLogs.contains(log.sha256), "a refusal says nothing about the database")
        #expect(throws: StoreError.self) {
            try store.keepingEventLog(nil) { () throws(StoreError) in throw StoreError.unavailable("failed over") }
        }
        #expect(!store.keptEventLogs.contains(log.sha256), "after a fail-over the next write sends its log again")
    }
}
