import Foundation
import Synchronization
import LocalPostgres
import GRDB
@testable import Store
import Testing
import TestSupport
import WardenCrypto

/// The audit chain in the database: linked, signed every N records, append-only.
@Suite(.postgresServer) struct AuditChainTests {
    /// A store whose "signature" is recognisable: SHA-256 of the message, so tests can check
    /// what was signed without a key.
    func store(_ backend: StoreBackend, interval: Int64) throws -> (EnrolmentStore, StoreLocation) {
        let signer = AuditSigner(interval: interval) { DigestAlgorithm.sha256.hash($0) }
        let (store, location, _) = try backend.freshStore(auditSigner: signer)
        return (store, location)
    }

    @Test(arguments: StoreBackend.allCases)
    func recordsChainAndCheckpointsComeEveryIntervalEvenInOneTransaction(backend: StoreBackend) throws {
        let (store, _) = try store(backend, interval: 4)
        for index in 0..<3 {
            try store.audit(actor: "test", action: "event", subject: "thing/\(index)", details: "single")
        }
        try store.audit(
            (0..<10).map {
                AuditEvent(actor: "test", action: "event", subject: "bulk/\($0)", details: "one transaction")
            })
        let records = try store.auditRecords(subjectPrefix: "")
        #expect(records.map(\.sequence) == Array(1...13))
        #expect(records.first?.previousHash == AuditChain.genesis)
        for (earlier, later) in zip(records, records.dropFirst()) { #expect(later.previousHash == earlier.hash) }
        #expect(records.allSatisfy { AuditChain.hash(of: $0) == $0.hash })

        var checkpoints = try store.readAudit { try $0.checkpoints(in: 1...13) }
        #expect(checkpoints.map(\.sequence) == [4, 8, 12])
        try store.checkpointAudit()
        checkpoints = try store.readAudit { try $0.checkpoints(in: 1...13) }
        #expect(checkpoints.map(\.sequence) == [4, 8, 12, 13], "stopping signs the head")
        for checkpoint in checkpoints {
            let record = records[Int(checkpoint.sequence) - 1]
            #expect(checkpoint.hash == record.hash)
            #expect(
                checkpoint.signature
                    == DigestAlgorithm.sha256.hash(
                        AuditChain.checkpointMessage(
                            sequence: checkpoint.sequence, hash: record.hash, signedAt: checkpoint.signedAt)))
        }
    }

    /// Writes that arrive while another one commits share the next transaction, each in a
    /// savepoint of its own: one that fails takes back its own record only, and the records
    /// of the others still make one chain.
    @Test(arguments: StoreBackend.allCases)
    func aFailedWriteAmongGroupedOnesTakesBackOnlyItsOwnRecord(backend: StoreBackend) throws {
        struct Refused: Error {}
        let (store, _) = try store(backend, interval: 1_000)
        let holding = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        let failures = Mutex(0)
        func start(_ body: @escaping @Sendable () -> Void) {
            done.enter()
            Thread {
                body()
                done.leave()
            }.start()
        }
        // The first write holds the writer while the others queue behind it.
        start {
            _ = try? store.write { db in
                holding.wait()
                try db.appendAudit(actor: "test", action: "event", subject: "first", details: "held", now: Date())
            }
        }
        for index in 0..<12 {
            start {
                do {
                    try store.write { db in
                        try db.appendAudit(
                            actor: "test", action: "event", subject: "queued/\(index)", details: "grouped", now: Date())
                        if index % 2 == 1 { throw Refused() }
                    }
                } catch {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        Thread.sleep(forTimeInterval: 0.3)
        holding.signal()
        done.wait()
        #expect(failures.withLock { $0 } == 6)
        let records = try store.auditRecords(subjectPrefix: "")
        #expect(Set(records.map(\.subject)) == Set(["first"] + stride(from: 0, to: 12, by: 2).map { "queued/\($0)" }))
        #expect(records.map(\.sequence) == Array(1...7))
        for (earlier, later) in zip(records, records.dropFirst()) { #expect(later.previousHash == earlier.hash) }
    }

    @Test(arguments: StoreBackend.allCases) func nothingUpdatesOrDeletesARecord(backend: StoreBackend) throws {
        let (store, location) = try store(backend, interval: 1)
        try store.audit(actor: "test", action: "event", subject: "thing", details: "kept")
        for statement in [
            "UPDATE auditRecord SET details = 'changed'", "DELETE FROM auditRecord",
            "UPDATE auditCheckpoint SET signature = signature || signature", "DELETE FROM auditCheckpoint",
        ] + (backend == .postgres ? ["TRUNCATE auditRecord CASCADE", "TRUNCATE auditCheckpoint"] : []) {
            let refusal = try refusal(of: statement, at: location)
            #expect(refusal?.contains("audit records are append-only") == true, "\(statement): \(refusal ?? "done")")
        }
        #expect(try store.auditRecords(subjectPrefix: "thing").map(\.details) == ["kept"])
    }

    /// Why the database refused `statement`, run directly (as someone with the database's
    /// own credentials would); nil when it was carried out.
    private func refusal(of statement: String, at location: StoreLocation) throws -> String? {
        switch location {
        case .sqlite(let path):
            do {
                try DatabaseQueue(path: path).write { try $0.execute(sql: statement) }
                return nil
            } catch let error as DatabaseError {
                return error.message
            }
        case .postgres(let postgres, _):
            let result = try PostgresCluster.forThisSuite().psql(statement, database: postgres.database)
            return result.status == 0 ? nil : result.stderr
        }
    }

    /// Records written before the chain existed enter it in their order, unchanged.
    @Test func earlierRecordsJoinTheChainOnMigration() throws {
        let when = Date(timeIntervalSince1970: 1_790_000_000.25)
        let earlier = try EarlierDatabase("audit-migration", upTo: "v5-agent-token-by-its-secret") { db in
            for index in 1...3 {
                try db.execute(
                    sql:
                        "INSERT INTO audit (time, actor, action, subject, details) VALUES (?, 'operator/alice', 'enrolment', ?, 'enrolled')",
                    arguments: [when, "machine/\(index)"])
            }
        }
        let store = try earlier.openedByToday()
        let records = try store.auditRecords(subjectPrefix: "machine/")
        #expect(records.map(\.subject) == ["machine/1", "machine/2", "machine/3"])
        #expect(records.allSatisfy { $0.time == "2026-09-21T14:13:20.250Z" && AuditChain.hash(of: $0) == $0.hash })
        #expect(records[1].previousHash == records[0].hash)
    }

    /// The table rebuilt without the index on hashes keeps every record as it was, stays
    /// append-only, and indexes nothing but its sequence.
    @Test func recordsSurviveTheHashIndexDropped() throws {
        let earlier = try EarlierDatabase("audit-hash-index", upTo: "v18-secure-boot-enrolment") { db in
            let chain = SQLiteSession.transaction(db)
            for index in 1...3 {
                try chain.appendAudit(
                    actor: "operator/alice", action: "enrolment", subject: "machine/\(index)", details: "enrolled",
                    now: Date(timeIntervalSince1970: 1_790_000_000 + Double(index)))
            }
            try db.execute(
                sql:
                    "INSERT INTO auditCheckpoint (sequence, hash, signedAt, signature) SELECT sequence, hash, time, x'00' FROM auditRecord WHERE sequence = 3"
            )
        }
        let (before, checkpoint) = try DatabaseQueue(path: earlier.path).read { db in
            (
                try Row.fetchAll(db, sql: "SELECT * FROM auditRecord ORDER BY sequence"),
                try Row.fetchAll(db, sql: "SELECT * FROM auditCheckpoint")
            )
        }
        #expect(before.count == 3 && checkpoint.count == 1)
        let store = try earlier.openedByToday()
        try store.audit(actor: "test", action: "event", subject: "machine/4", details: "after")
        let records = try store.auditRecords(subjectPrefix: "machine/")
        #expect(records.count == 4)
        #expect(records.allSatisfy { AuditChain.hash(of: $0) == $0.hash })
        #expect(zip(records, records.dropFirst()).allSatisfy { $1.previousHash == $0.hash })
        let migrated = try DatabaseQueue(path: earlier.path)
        let (after, indexes) = try migrated.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT * FROM auditRecord WHERE sequence <= 3 ORDER BY sequence"),
                try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list('auditRecord')")
            )
        }
        #expect(after == before)
        #expect(indexes.isEmpty)
        // The checkpoint still names its record, through the rebuilt table.
        let (checkpointAfter, foreignKeyProblems, referenced) = try migrated.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT * FROM auditCheckpoint"),
                try Row.fetchAll(db, sql: "PRAGMA foreign_key_check"),
                try String.fetchAll(db, sql: "SELECT \"table\" FROM pragma_foreign_key_list('auditCheckpoint')")
            )
        }
        #expect(checkpointAfter == checkpoint)
        #expect(foreignKeyProblems.isEmpty)
        #expect(referenced == ["auditRecord"])
        for statement in ["UPDATE auditRecord SET details = 'changed'", "DELETE FROM auditRecord"] {
            #expect(throws: DatabaseError.self) { try migrated.write { db in try db.execute(sql: statement) } }
        }
    }

    /// Each record names the appliance that wrote it, in its hash (format v2); a store that
    /// names none writes the first format, and one chain holds both.
    @Test(arguments: StoreBackend.allCases) func recordsNameTheirApplianceInTheirHash(backend: StoreBackend) throws {
        let (unnamed, location) = try store(backend, interval: 1_000)
        let key = try KeyEncryptionKey.loadOrCreate(
            at: try TestPaths.temporaryDirectory("appliance-kek").appendingPathComponent("kek.key").path)
        try unnamed.audit(actor: "system", action: "server-start", subject: "appliance", details: "unnamed")
        for name in ["appliance-a", "appliance-b"] {
            try EnrolmentStore(location: location, key: key, appliance: name)
                .audit(actor: "system", action: "server-start", subject: "appliance", details: name)
        }
        let records = try unnamed.auditRecords(subjectPrefix: "appliance")
        #expect(records.map(\.appliance) == [nil, "appliance-a", "appliance-b"])
        #expect(records.allSatisfy { Self.hashAsDocumented($0) == $0.hash })
        #expect(zip(records, records.dropFirst()).allSatisfy { $1.previousHash == $0.hash })
        let renamed = AuditRecord(
            sequence: records[2].sequence, time: records[2].time, appliance: "appliance-a", actor: records[2].actor,
            action: records[2].action, subject: records[2].subject, details: records[2].details,
            evidenceSHA256: nil, previousHash: records[2].previousHash, hash: [])
        #expect(AuditChain.hash(of: renamed) != records[2].hash)
    }

    /// A record's hash built from the byte format the README and ``AuditChain`` describe.
    static func hashAsDocumented(_ record: AuditRecord) -> [UInt8] {
        func field(_ bytes: [UInt8]) -> [UInt8] {
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes
        }
        var bytes = Array("warden.audit.record.v\(record.appliance == nil ? 1 : 2)".utf8) + [0]
        bytes += withUnsafeBytes(of: record.sequence.bigEndian, Array.init) + field(Array(record.time.utf8))
        if let appliance = record.appliance { bytes += field(Array(appliance.utf8)) }
        for text in [record.actor, record.action, record.subject, record.details] { bytes += field(Array(text.utf8)) }
        return DigestAlgorithm.sha256.hash(bytes + field(record.evidenceSHA256 ?? []) + record.previousHash)
    }
}
