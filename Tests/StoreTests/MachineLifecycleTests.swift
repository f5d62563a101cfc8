import Attestation
import Foundation
import LocalPostgres
import GRDB
@testable import Store
import Testing
import TestSupport
import WardenAPI
import WardenCrypto

/// The machine lifecycle: one table of transitions, and the schema's constraint written
/// from it.
@Suite(.postgresServer) struct MachineLifecycleTests {
    @Test func theSchemaStoresExactlyTheLifecyclesStoredStates() throws {
        let folder = try TestPaths.temporaryDirectory("lifecycle")
        let path = folder.appendingPathComponent("warden.sqlite").path
        _ = try EnrolmentStore(
            path: path, key: try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path))
        let database = try DatabaseQueue(path: path)
        let table = try #require(
            try database.read {
                try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'machine'")
            })
        let listed = try #require(table.firstMatch(of: /CHECK \(state IN \(([^)]*)\)\)/)).1
        let states = listed.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        #expect(states == MachineState.stored.map(\.rawValue))
        #expect(MachineState.stored.contains(.active) && MachineState.stored.contains(.retired))
        #expect(
            !MachineState.stored.contains(.forgotten) && !MachineState.stored.contains(.expired),
            "those states end a row's life")
        for state in MachineState.allCases {
            let insert =
                "INSERT INTO machine (name, state, ekPublic, createdAt) VALUES ('m-\(state.rawValue)', '\(state.rawValue)', x'', 0)"
            if state.isStored {
                try database.write { try $0.execute(sql: insert) }
            } else {
                #expect(throws: DatabaseError.self, "the schema accepts \(state.rawValue)") {
                    try database.write { try $0.execute(sql: insert) }
                }
            }
        }
    }

    @Test func thePostgresSchemaStoresExactlyTheLifecyclesStoredStates() throws {
        let (_, location, _) = try StoreBackend.postgres.freshStore()
        guard case .postgres(let postgres, _) = location else { return }
        let server = try PostgresCluster.forThisSuite()
        let constraint = try server.psql(
            """
            SELECT pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'machine'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%state%'
            """, database: postgres.database
        ).stdout
        let states = constraint.matches(of: /'([a-z]+)'::text/).map { String($0.1) }
        #expect(states == MachineState.stored.map(\.rawValue))
        for state in MachineState.allCases {
            let inserted = try server.psql(
                "INSERT INTO machine (name, state, ekPublic, createdAt) VALUES ('m-\(state.rawValue)', '\(state.rawValue)', '', now())",
                database: postgres.database)
            #expect((inserted.status == 0) == state.isStored, "\(state.rawValue): \(inserted.stderr)")
        }
    }

    /// The edges a serious reviewer checks: nothing leaves revoked but retirement, nothing
    /// leaves retired, forgotten or expired, only a discovered machine is adopted, forgotten
    /// or expires, and only an enrolled or active one is released to.
    @Test func theTransitionTableHoldsItsInvariants() {
        for event in MachineEvent.allCases {
            #expect(MachineLifecycle.state(after: event, from: .retired) == nil, "retired then \(event)")
            #expect(MachineLifecycle.state(after: event, from: .forgotten) == nil, "forgotten then \(event)")
            #expect(MachineLifecycle.state(after: event, from: .expired) == nil, "expired then \(event)")
            if event != .retire {
                #expect(MachineLifecycle.state(after: event, from: .revoked) == nil, "revoked then \(event)")
            }
        }
        for state in MachineState.allCases {
            #expect((MachineLifecycle.state(after: .adopt, from: state) != nil) == (state == .discovered))
            #expect((MachineLifecycle.state(after: .forget, from: state) != nil) == (state == .discovered))
            #expect((MachineLifecycle.state(after: .expire, from: state) != nil) == (state == .discovered))
            #expect(
                (MachineLifecycle.state(after: .release, from: state) != nil)
                    == (state == .enrolled || state == .active))
            #expect(
                MachineLifecycle.state(after: .approve, from: state)
                    == (state == .enrolled || state == .active ? state : nil),
                "only a machine in service is approved, and approval moves it nowhere")
            #expect(
                MachineLifecycle.state(after: .discover, from: state) == nil
                    && MachineLifecycle.state(after: .enrol, from: state) == nil,
                "only a new row is discovered or enrolled")
        }
        #expect(MachineLifecycle.state(after: .discover, from: nil) == .discovered)
        #expect(MachineLifecycle.state(after: .enrol, from: nil) == .enrolled)
        #expect(MachineLifecycle.state(after: .release, from: .enrolled) == .active)
    }

    @Test(arguments: StoreBackend.allCases) func theStoreRefusesWhatTheLifecycleForbids(backend: StoreBackend) throws {
        let (store, _, _) = try backend.freshStore()
        let id = try store.enroll(MachineEnrolment(name: "node", ekPublic: [1], ekName: [0, 0x0b, 1]), actor: "test")
        try store.revoke(machineNamed: "node", actor: "test")
        #expect(throws: StoreError.lifecycle(machine: "node", state: .revoked, event: .revoke)) {
            try store.revoke(machineNamed: "node", actor: "test")
        }
        #expect(throws: StoreError.lifecycle(machine: "node", state: .revoked, event: .adopt)) {
            try store.adopt(
                discoveredID: id, as: MachineEnrolment(name: "again", ekPublic: [1], ekName: [0, 0x0b, 1]),
                actor: "test")
        }
        #expect(throws: StoreError.lifecycle(machine: "node", state: .revoked, event: .forget)) {
            try store.forget(discoveredMachineNamed: "node", actor: "test")
        }
        #expect(try store.machine(named: "node").state == .revoked)
    }

    /// A database made by an earlier Warden (schema v9) gains the new constraint and keeps
    /// its rows, its indexes and its id sequence: a forgotten machine's id is not reused.
    @Test func theMigrationKeepsRowsIndexesAndTheIDSequence() throws {
        let earlier = try EarlierDatabase("lifecycle", upTo: "v9-bounded-anonymous-rows") { db in
            for (index, state) in ["enrolled", "active", "discovered"].enumerated() {
                try db.execute(
                    sql: "INSERT INTO machine (name, state, ekPublic, ekName, createdAt) VALUES (?, ?, x'01', ?, 0)",
                    arguments: ["m\(index)", state, Data([0, 0x0b, UInt8(index)])])
            }
            try db.execute(sql: "INSERT INTO machineMAC (mac, machineID) VALUES ('52:54:00:00:00:01', 1)")
            try db.execute(sql: "DELETE FROM machine WHERE id = 3")
        }
        let store = try earlier.openedByToday()
        #expect(try store.machines().map(\.state) == [.enrolled, .active])
        #expect(try store.machine(named: "m0").macs == ["52:54:00:00:00:01"])
        #expect(
            try store.enroll(MachineEnrolment(name: "new", ekPublic: [1], ekName: [0, 0x0b, 9]), actor: "test") == 4,
            "the forgotten machine's id 3 was given again")
        let reopened = try DatabaseQueue(path: earlier.path)
        let indexes = try reopened.read {
            try String.fetchAll(
                $0,
                sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'machine' AND sql IS NOT NULL")
        }
        #expect(indexes == ["machineByStateAndAge"])
        #expect(try reopened.read { try Row.fetchAll($0, sql: "PRAGMA foreign_key_check") }.isEmpty)
        #expect(try store.integrityCheck() == "ok")
    }
}
