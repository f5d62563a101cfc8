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
        for index in 0...KeptEventLogs.capacity { kept.remember(digest(index), keptIn: 0, now: 0) }
        kept.remember(digest(1), keptIn: 0, now: 0)
        #expect(!kept.contains(digest(0), generation: 0))
        #expect(kept.contains(digest(1), generation: 0) && kept.contains(digest(KeptEventLogs.capacity), generation: 0))
    }

    /// A fail-over starts a new generation of the database: what was remembered before is
    /// forgotten, and a write that a fail-over overtook is not remembered.
    @Test func aFailOverForgetsAndAWriteItOvertookIsNotRemembered() {
        let kept = KeptEventLogs()
        kept.remember(digest(1), keptIn: 0, now: 0)
        #expect(kept.contains(digest(1), generation: 0))
        #expect(!kept.contains(digest(1), generation: 1))
        #expect(!kept.contains(digest(1), generation: 0), "forgotten, not hidden")
        kept.remember(digest(2), keptIn: 1, now: 2)
        #expect(!kept.contains(digest(2), generation: 2))
        kept.remember(digest(3), keptIn: 2, now: 2)
        #expect(kept.contains(digest(3), generation: 2))
    }

    @Test func aLogIsRememberedOnceItsWriteCommittedAndAllAreForgottenWhenTheDatabaseFailed() async throws {
        let (store, _, _) = try StoreBackend.sqlite.freshStore()
        let log = StoredEventLog(sha256: digest(7), bytes: [1, 2, 3])
        await #expect(throws: StoreError.self) {
            try await store.keepingEventLog(log, writtenIn: 0) { () async throws(StoreError) in
                throw StoreError.nonce("already used")
            }
        }
        #expect(!store.keptEventLogs.contains(log.sha256, generation: 0), "a write that failed kept nothing")
        try await store.keepingEventLog(log, writtenIn: 0) {}
        #expect(store.keptEventLogs.contains(log.sha256, generation: 0))
        await #expect(throws: StoreError.self) {
            try await store.keepingEventLog(nil, writtenIn: 0) { () async throws(StoreError) in
                throw StoreError.nonce("already used")
            }
        }
        #expect(store.keptEventLogs.contains(log.sha256, generation: 0), "a refusal says nothing about the database")
        await #expect(throws: StoreError.self) {
            try await store.keepingEventLog(nil, writtenIn: 0) { () async throws(StoreError) in
                throw StoreError.unavailable("failed over")
            }
        }
        #expect(
            !store.keptEventLogs.contains(log.sha256, generation: 0),
            "after a fail-over the next write sends its log again")
    }
}
