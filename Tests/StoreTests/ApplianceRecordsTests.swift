import Foundation
import LocalPostgres
import Store
import Testing
import TestSupport
import WardenCrypto

/// Appliances join with a bundle the database spends once, and a removed one stays removed.
@Suite(.postgresServer) struct ApplianceRecordsTests {
    let certificateA = [UInt8](repeating: 0xA, count: 32)
    let certificateB = [UInt8](repeating: 0xB, count: 32)

    @Test(arguments: StoreBackend.allCases) func aJoinBundleIsSpentOnceAndARemovedApplianceStaysRemoved(
        backend: StoreBackend
    ) throws {
        let (store, _, _) = try backend.freshStore()
        let now = Date()
        try store.registerAppliance(name: "appliance-a", serverCertificateSHA256: certificateA, now: now)
        try store.registerAppliance(name: "appliance-a", serverCertificateSHA256: certificateA, now: now)
        let join = try store.issueJoin(by: "appliance-a", actor: "test", now: now)
        #expect(join.expiresAt == now.addingTimeInterval(EnrolmentStore.joinLifetime))

        #expect(throws: StoreError.duplicate("appliance appliance-a (a removed name is never used again)")) {
            try store.join(
                id: join.id, name: "appliance-a", serverCertificateSHA256: certificateB, operatorSerial: "01")
        }
        try store.join(id: join.id, name: "appliance-b", serverCertificateSHA256: certificateB, operatorSerial: "0b")
        #expect(
            throws: StoreError.invalid("this join bundle was used already (by appliance appliance-b): export a new one")
        ) {
            try store.join(
                id: join.id, name: "appliance-c", serverCertificateSHA256: certificateB, operatorSerial: "0c")
        }
        #expect(throws: StoreError.invalid("this join bundle was not issued by an appliance of this database")) {
            try store.join(
                id: SecureRandom.bytes(16), name: "appliance-c", serverCertificateSHA256: certificateB,
                operatorSerial: "0c")
        }
        let late = try store.issueJoin(by: "appliance-a", actor: "test", now: now)
        #expect(throws: StoreError.invalid("this join bundle expired: export a new one")) {
            try store.join(
                id: late.id, name: "appliance-c", serverCertificateSHA256: certificateB, operatorSerial: "0c",
                now: now.addingTimeInterval(EnrolmentStore.joinLifetime + 1))
        }
        #expect(try store.operatorCertificate(serial: "0b")?.name == "operator", "B's local operator is recorded")
        #expect(try store.appliances().map(\.name) == ["appliance-a", "appliance-b"])
        if backend == .postgres {
            // Shared, with members: a name no join recorded does not start (a removed
            // appliance keeps the shared keys and must not come back under another name).
            #expect(throws: StoreError.self) {
                try store.registerAppliance(name: "appliance-z", serverCertificateSHA256: certificateA)
            }
        }

        // A is removed: it may not start again, and a bundle it issued opens nothing.
        let unused = try store.issueJoin(by: "appliance-a", actor: "test", now: now)
        let removed = try store.removeAppliance(named: "appliance-a", actor: "test", now: now).appliance
        #expect(removed.state == .removed && removed.removedAt != nil)
        #expect(throws: StoreError.self) {
            try store.registerAppliance(name: "appliance-a", serverCertificateSHA256: certificateA)
        }
        #expect(throws: StoreError.invalid("this join bundle was issued by appliance appliance-a, which was removed")) {
            try store.join(
                id: unused.id, name: "appliance-c", serverCertificateSHA256: certificateB, operatorSerial: "0c")
        }
        #expect(throws: StoreError.invalid("appliance appliance-a was removed already")) {
            _ = try store.removeAppliance(named: "appliance-a", actor: "test")
        }
        let actions = try store.auditRecords(subjectPrefix: "appliance/").map(\.action)
        #expect(
            actions == [
                "appliance-registered", "appliance-join-issued", "appliance-joined", "appliance-join-issued",
                "appliance-join-issued", "appliance-removed",
            ])
    }

    /// An appliance with a PostgreSQL role of its own loses it when removed: no new login,
    /// and its open sessions end.
    @Test func aRemovedAppliancesRoleMayNoLongerLogIn() throws {
        let server = try PostgresCluster.forThisSuite()
        let database = try server.createDatabase()
        let role = "appliance_" + UUID().uuidString.prefix(8).lowercased()
        _ = try server.psql(
            """
            CREATE ROLE \(role) LOGIN PASSWORD '\(server.password)';
            GRANT CREATE, USAGE ON SCHEMA public TO \(role);
            """, database: database)
        let folder = try TestPaths.temporaryDirectory("appliance-role")
        let key = try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path)
        let password = Secret(text: server.password)
        let a = try EnrolmentStore(
            location: .postgres(try PostgresLocation(uri: server.uri(database: database)), password: password), key: key
        )
        _ = try server.psql(
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO \(role); GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO \(role)",
            database: database)
        let b = try EnrolmentStore(
            location: .postgres(
                try PostgresLocation(
                    uri: server.uri(database: database).replacingOccurrences(
                        of: "//\(PostgresCluster.user)@", with: "//\(role)@")),
                password: password), key: key)
        try a.registerAppliance(name: "appliance-a", serverCertificateSHA256: certificateA)
        let join = try a.issueJoin(by: "appliance-a", actor: "test")
        try b.join(id: join.id, name: "appliance-b", serverCertificateSHA256: certificateB, operatorSerial: "0b")
        #expect(try a.appliances().map(\.databaseRole) == [PostgresCluster.user, role])

        #expect(try a.removeAppliance(named: "appliance-b", actor: "test").roleLeft == nil)
        #expect(
            try server.psql("SELECT rolcanlogin FROM pg_roles WHERE rolname = '\(role)'", database: database).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines) == "f")
        #expect(throws: StoreError.self) { _ = try b.appliances() }

        // An appliance on the remover's own role: the role cannot be revoked, and the removal says so.
        let shared = try a.issueJoin(by: "appliance-a", actor: "test")
        try a.join(id: shared.id, name: "appliance-c", serverCertificateSHA256: certificateB, operatorSerial: "0c")
        let left = try a.removeAppliance(named: "appliance-c", actor: "test").roleLeft
        #expect(left?.contains("give each appliance a role of its own") == true)
    }
}
