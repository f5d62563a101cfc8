import Foundation
import Octets
@testable import Store
import Testing
import TestSupport
import TPM
import WardenAPI
import WardenCrypto

@Suite(.postgresServer) struct EnrolmentStoreTests {
    @Test(arguments: StoreBackend.allCases) func migrationsAreNamedAndApplied(backend: StoreBackend) throws {
        let (store, _, _) = try backend.freshStore()
        let expected =
            switch backend {
            case .sqlite:
                [
                    "v1-machines-policies-nonces-secrets", "v2-clusters-roles-operators", "v3-nonces-by-machine",
                    "v4-nonces-clustered-by-machine", "v5-agent-token-by-its-secret", "v6-audit-chain", "v7-images",
                    "v8-measured-images-and-boots", "v9-bounded-anonymous-rows",
                    "v10-machine-states-from-the-lifecycle", "v11-evidence-and-judgement",
                    "v12-audit-records-name-their-appliance", "v13-image-bytes-in-the-database",
                    "v14-appliances", "v15-image-parts-dated", "v16-event-logs-by-digest",
                    "v17-images-signed-for-secure-boot", "v18-secure-boot-enrolment",
                    "v19-audit-hashes-unindexed", "v20-nonce-uses-in-time-order",
                ]
            case .postgres:
                [
                    "p1-warden-schema", "p2-evidence-compressed-with-lz4", "p3-audit-records-name-their-appliance",
                    "p4-image-bytes-in-the-database", "p5-appliances", "p6-image-parts-dated",
                    "p7-event-logs-by-digest", "p8-images-signed-for-secure-boot", "p9-secure-boot-enrolment",
                    "p10-nonce-uses-by-machine", "p11-audit-hashes-unindexed",
                ]
            }
        #expect(try store.appliedMigrations() == expected)
        #expect(try store.integrityCheck() == "ok")
    }

    @Test(arguments: StoreBackend.allCases) func enrolmentMakesASealedDiskKey(backend: StoreBackend) throws {
        let (store, _, _) = try backend.freshStore()
        let id = try store.enroll(machine("node-1", macs: ["52:54:00:AA:BB:CC"]), actor: "test")
        let key = try store.releaseSecrets(machineID: id).diskKey
        #expect(key.count == 32)
        #expect(sameSecret(try store.releaseSecrets(machineID: id).diskKey, key), "the disk key changed")
        #expect(throws: StoreError.duplicate("machine node-1")) { try store.enroll(machine("node-1"), actor: "test") }
        #expect(throws: StoreError.duplicate("MAC 52:54:00:aa:bb:cc")) {
            try store.enroll(machine("node-2", macs: ["52:54:00:aa:bb:cc"]), actor: "test")
        }
        #expect(throws: StoreError.notFound("cluster nowhere")) {
            try store.enroll(machine("node-3", cluster: "nowhere", role: .agent), actor: "test")
        }
        #expect(throws: StoreError.invalid("a role needs a cluster")) {
            try store.enroll(machine("node-4", role: .agent), actor: "test")
        }
        #expect(try store.machines().map(\.name) == ["node-1"], "a refused enrolment left a row behind")
        #expect(try store.auditRecords(subjectPrefix: "machine/\(id)").map(\.action) == ["enrolment"])
    }

    /// The database files alone reveal no disk key.
    @Test(arguments: StoreBackend.allCases) func secretsAreSealedAtRest(backend: StoreBackend) throws {
        let (store, location, folder) = try backend.freshStore()
        var keys: [[UInt8]] = []
        for index in 0..<5 {
            keys.append(
                try store.releaseSecrets(machineID: try store.enroll(machine("node-\(index)"), actor: "test")).diskKey
                    .revealedBytes)
        }
        let token = "K10" + String(repeating: "ab", count: 32) + "::server:" + Hex.encode(SecureRandom.bytes(16))
        let agentToken = "K10" + String(repeating: "cd", count: 32) + "::node:" + Hex.encode(SecureRandom.bytes(16))
        try store.addCluster(
            name: "c1", serverURL: "https://10.0.0.1:6443", token: Secret(text: token),
            agentToken: Secret(text: agentToken), actor: "test")
        keys += [Array(token.suffix(32).utf8), Array(agentToken.suffix(32).utf8)]
        let files = try backend.filesHolding(location, folder: folder)
        #expect(!files.isEmpty)
        for file in files {
            let bytes = try TestPaths.bytes(file)
            // A Boolean first: an expectation that failed on the bytes would print the secret.
            let holdsSecret = keys.contains { key in
                [key, Array(key.prefix(8)), Array(key.suffix(8))].contains { contains(bytes, $0) }
            }
            #expect(!holdsSecret, "\(file.path) holds secret bytes")
        }
    }

    @Test(arguments: StoreBackend.allCases) func anotherKeyEncryptionKeyOpensNothing(backend: StoreBackend) throws {
        let (store, location, _) = try backend.freshStore()
        let id = try store.enroll(machine("node"), actor: "test")
        let otherKey = try KeyEncryptionKey.loadOrCreate(
            at: try TestPaths.temporaryDirectory("kek").appendingPathComponent("kek.key").path)
        let reopened = try EnrolmentStore(location: location, key: otherKey)
        #expect(throws: StoreError.self) { try reopened.releaseSecrets(machineID: id).diskKey }
        // Nor does it seal: the database's key check does not open under it.
        #expect(throws: StoreError.keyNotCurrent(otherKey.identifier)) {
            try reopened.enroll(machine("other"), actor: "test")
        }
        _ = store
    }

    /// A passing attestation whose release cannot be opened (an appliance holding another
    /// key-encryption key) leaves nothing recorded: no row, no audit record, the nonce
    /// unused, so that the same quote passes where the release can be made.
    @Test(arguments: StoreBackend.allCases) func aReleaseThatCannotBeOpenedLeavesNothingRecorded(
        backend: StoreBackend
    ) async throws {
        let (store, location, _) = try backend.freshStore()
        let id = try store.enroll(machine("node"), actor: "test")
        let key = try activatedKey(store, machineID: id)
        let nonce = try issued(store.issueNonce(attestationKeyID: key.id, proof: key.proof))
        let outcome = AttestationOutcome(
            machineID: id, attestationKeyID: key.id,
            evidence: Evidence(
                attestationKey: [], attest: [], signature: [], pcrs: [], eventLog: [1, 2], nonce: nonce),
            passed: true, reasons: [], policyID: nil, clock: nil)
        let otherKey = try KeyEncryptionKey.loadOrCreate(
            at: try TestPaths.temporaryDirectory("kek").appendingPathComponent("kek.key").path)
        let audited = try store.auditRecords(subjectPrefix: "machine/").count
        await #expect(throws: StoreError.self) {
            try await EnrolmentStore(location: location, key: otherKey).record(outcome, actor: "test")
        }
        #expect(try store.attestations(matching: AttestationFilter()).isEmpty)
        #expect(try store.auditRecords(subjectPrefix: "machine/").count == audited)
        let recorded = try await store.record(outcome, actor: "test")
        #expect(recorded.release?.diskKey != nil)
        #expect(try store.attestations(matching: AttestationFilter()).map(\.passed) == [true])
    }

    /// Listings filter by machine, verdict and time alike on both backends, newest first.
    @Test(arguments: StoreBackend.allCases) func attestationsAreFiltered(backend: StoreBackend) async throws {
        let (store, _, _) = try backend.freshStore()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for (index, name) in ["node-1", "node-2"].enumerated() {
            let id = try store.enroll(machine(name), actor: "test")
            let key = try activatedKey(store, machineID: id)
            let nonce = try issued(store.issueNonce(attestationKeyID: key.id, proof: key.proof, now: start))
            try await consume(
                nonce, key: key.id, machineID: id, store: store, now: start.addingTimeInterval(Double(index)))
        }
        let all = try store.attestations(matching: AttestationFilter())
        #expect(all.map(\.machine) == ["node-2", "node-1"] && all.allSatisfy { !$0.passed })
        #expect(try store.attestations(matching: AttestationFilter(machine: "node-1")).map(\.machine) == ["node-1"])
        #expect(try store.attestations(matching: AttestationFilter(passed: true)).isEmpty)
        #expect(
            try store.attestations(matching: AttestationFilter(since: start.addingTimeInterval(0.5))).map(\.machine)
                == ["node-2"])
        #expect(
            try store.attestations(matching: AttestationFilter(until: start.addingTimeInterval(0.5))).map(\.machine)
                == ["node-1"])
        #expect(try store.attestations(matching: AttestationFilter(limit: 1)).count == 1)
        let first = try #require(all.last)
        #expect(try store.attestation(id: first.id).summary == first)
        #expect(throws: StoreError.notFound("attestation 999999")) { try store.attestation(id: 999_999) }
    }

    /// A machine's event log, the same boot after boot, is kept once; every attestation reads
    /// it back, and one recorded before logs were kept by digest still reads its own.
    @Test(arguments: StoreBackend.allCases) func eventLogsAreKeptOnceAndReadBack(backend: StoreBackend) async throws {
        let (store, _, _) = try backend.freshStore()
        let id = try store.enroll(machine("node-1"), actor: "test")
        let key = try activatedKey(store, machineID: id)
        let log = [UInt8](repeating: 0xa5, count: 40_000)
        var recorded: [Int64] = []
        for round in 0..<3 {
            let now = Date(timeIntervalSince1970: 1_800_000_000 + Double(round))
            let nonce = try issued(store.issueNonce(attestationKeyID: key.id, proof: key.proof, now: now))
            recorded.append(try await consume(nonce, key: key.id, machineID: id, store: store, now: now, eventLog: log))
        }
        // A replayed nonce records nothing, not even its log.
        let replayed = try issued(
            store.issueNonce(
                attestationKeyID: key.id, proof: key.proof, now: Date(timeIntervalSince1970: 1_800_000_000)))
        try await consume(
            replayed, key: key.id, machineID: id, store: store, now: Date(timeIntervalSince1970: 1_800_000_010))
        await #expect(throws: StoreError.nonce("already used")) {
            try await consume(
                replayed, key: key.id, machineID: id, store: store, now: Date(timeIntervalSince1970: 1_800_000_011),
                eventLog: [1, 2, 3, 4])
        }
        let kept = try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM eventLog") }
        #expect(kept == 1)
        for attestation in recorded { #expect(try store.attestation(id: attestation).eventLog == log) }
        let legacy = try #require(recorded.first)
        _ = try await store.write { db in
            try db.execute(
                sql: "UPDATE attestation SET eventLog = ?, eventLogSHA256 = NULL WHERE id = ?",
                arguments: [Data([1, 2, 3]), legacy])
        }
        #expect(try store.attestation(id: legacy).eventLog == [1, 2, 3])
        #expect(try store.readAudit { try $0.attestation(id: legacy)?.evidence.evidence.eventLog } == [1, 2, 3])
    }

    @Test func keyFileMustBePrivateAndWhole() throws {
        let path = try TestPaths.temporaryDirectory("kek").appendingPathComponent("kek.key").path
        _ = try KeyEncryptionKey.loadOrCreate(at: path)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        _ = try KeyEncryptionKey.loadOrCreate(at: path)
        chmod(path, 0o644)
        #expect(throws: StoreError.self) { try KeyEncryptionKey.loadOrCreate(at: path) }
        chmod(path, 0o600)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        #expect(throws: StoreError.self) { try KeyEncryptionKey.loadOrCreate(at: path) }
    }

    @Test(arguments: StoreBackend.allCases) func noncesAreSingleUseBoundAndShortLived(backend: StoreBackend)
        async throws
    {
        let (store, _, _) = try backend.freshStore()
        let node = try store.enroll(machine("node"), actor: "test")
        let other = try store.enroll(machine("other"), actor: "test")
        let key = try activatedKey(store, machineID: node), otherKey = try activatedKey(store, machineID: other)
        let now = Date()
        let nonce = try issued(store.issueNonce(attestationKeyID: key.id, proof: key.proof, now: now))
        #expect(nonce.count == 32)
        #expect(try store.attestationContext(attestationKeyID: key.id, nonce: nonce, now: now)?.nonceProblem == nil)
        #expect(
            try store.attestationContext(attestationKeyID: otherKey.id, nonce: nonce, now: now)?.nonceProblem
                == .nonce("issued to another machine"))
        await #expect(throws: StoreError.nonce("issued to another machine")) {
            try await consume(nonce, key: otherKey.id, machineID: other, store: store, now: now)
        }
        try await consume(nonce, key: key.id, machineID: node, store: store, now: now)
        await #expect(throws: StoreError.nonce("already used")) {
            try await consume(nonce, key: key.id, machineID: node, store: store, now: now)
        }
        let late = try issued(store.issueNonce(attestationKeyID: key.id, proof: key.proof, now: now))
        let later = now.addingTimeInterval(EnrolmentStore.nonceLifetime + 1)
        #expect(
            try store.attestationContext(attestationKeyID: key.id, nonce: late, now: later)?.nonceProblem
                == .nonce("expired"))
        await #expect(throws: StoreError.nonce("expired")) {
            try await consume(late, key: key.id, machineID: node, store: store, now: later)
        }
        await #expect(throws: StoreError.nonce("unknown")) {
            try await consume(SecureRandom.bytes(32), key: key.id, machineID: node, store: store, now: now)
        }
        #expect(try store.issueNonce(attestationKeyID: 999, proof: key.proof, now: now) == .unknownKey)
        #expect(try store.attestations(machineID: node).count == 1, "a refused nonce recorded an attestation")
    }

    /// Nonces go only to activated keys of machines that are not revoked, and only to whoever
    /// shows the proof of the key's activation secret: its id alone (sequential, guessable)
    /// gets nothing.
    @Test(arguments: StoreBackend.allCases) func noncesNeedAnActivatedKeyOfALiveMachineAndItsProof(
        backend: StoreBackend
    ) throws {
        let (store, _, _) = try backend.freshStore()
        let node = try store.enroll(machine("node"), actor: "test")
        #expect(
            try store.issueNonce(
                attestationKeyID: 1, proof: ChallengeProof.make(activationSecret: [7], attestationKeyID: 1))
                == .unknownKey,
            "a registration is no key until it is activated")
        let key = try activatedKey(store, machineID: node)
        #expect(
            try store.issueNonce(attestationKeyID: key.id, proof: SecureRandom.bytes(32))
                == .wrongProof(machineID: node))
        #expect(try store.issueNonce(attestationKeyID: key.id, proof: []) == .wrongProof(machineID: node))
        let other = try activatedKey(store, machineID: node)
        #expect(
            try store.issueNonce(attestationKeyID: key.id, proof: other.proof) == .wrongProof(machineID: node),
            "another key's proof")
        try store.revoke(machineNamed: "node", actor: "test")
        #expect(try store.issueNonce(attestationKeyID: key.id, proof: key.proof) == .revoked(machineID: node))
    }

    /// A nonce is made, not stored: a machine may ask for any number, each stays good for
    /// its lifetime, and nothing is written until one is used. Altered anywhere (its time,
    /// machine, random part or tag), made under another key-encryption key, or issued later
    /// than a clock's skew allows, a nonce is unknown.
    @Test(arguments: StoreBackend.allCases) func noncesAreMadeNotStored(backend: StoreBackend) async throws {
        let (store, _, _) = try backend.freshStore()
        let node = try store.enroll(machine("node"), actor: "test")
        let key = try activatedKey(store, machineID: node)
        let now = Date()
        func problem(_ nonce: [UInt8]) throws -> StoreError? {
            try #require(try store.attestationContext(attestationKeyID: key.id, nonce: nonce, now: now)).nonceProblem
        }
        let nonces = try (0..<50).map { _ in
            try issued(store.issueNonce(attestationKeyID: key.id, proof: key.proof, now: now))
        }
        #expect(Set(nonces).count == nonces.count)
        #expect(try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM machineNonce") } == 0)
        for nonce in nonces { #expect(try problem(nonce) == nil) }
        for index in [0, 7, 15, 31] {
            var altered = nonces[0]
            altered[index] ^= 1
            #expect(try problem(altered) == .nonce("unknown"), "byte \(index) altered")
        }
        let skew = AttestationNonce.clockSkew
        let ahead = try issued(
            store.issueNonce(attestationKeyID: key.id, proof: key.proof, now: now.addingTimeInterval(skew)))
        #expect(try problem(ahead) == nil, "issued by a clock as far ahead as appliances may differ")
        let early = try issued(
            store.issueNonce(attestationKeyID: key.id, proof: key.proof, now: now.addingTimeInterval(skew + 1)))
        #expect(try problem(early) == .nonce("unknown"), "issued by a clock further ahead")

        let (elsewhere, _, _) = try backend.freshStore()
        let other = try elsewhere.enroll(machine("node"), actor: "test")
        #expect(other == node, "the same machine id in both stores")
        let otherKey = try activatedKey(elsewhere, machineID: other)
        let foreign = try issued(elsewhere.issueNonce(attestationKeyID: otherKey.id, proof: otherKey.proof, now: now))
        #expect(try problem(foreign) == .nonce("unknown"), "made under another key-encryption key")

        try await consume(nonces[3], key: key.id, machineID: node, store: store, now: now)
        #expect(try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM machineNonce") } == 1)
        #expect(try problem(nonces[3]) == .nonce("already used"))
        #expect(try problem(nonces[4]) == nil)

        // An appliance whose clock runs ahead sweeps the use once the nonce expired, by its
        // clock, and the clock skew: one whose clock runs behind still finds it used.
        let expired = now.addingTimeInterval(EnrolmentStore.nonceLifetime + 1)
        #expect(try store.expireUnclaimed(now: expired).nonces == 0)
        await #expect(throws: StoreError.nonce("already used"), "replayed after a sweep by a clock ahead") {
            try await consume(nonces[3], key: key.id, machineID: node, store: store, now: now)
        }
        #expect(try store.expireUnclaimed(now: expired.addingTimeInterval(skew)).nonces == 1)
    }

    /// A registration is a sealed ticket, not a row: anyone with an enrolled EK's public part
    /// can register as often as they like and the database does not grow; a ticket expires,
    /// opens only in the store that sealed it, and names the key it registered.
    @Test(arguments: StoreBackend.allCases) func registrationsAreTicketsNotRows(backend: StoreBackend) throws {
        var limits = EnrolmentStore.Limits()
        limits.registrationLifetime = 60
        let (store, _, _) = try backend.freshStore(limits: limits)
        let node = try store.enroll(machine("node"), actor: "test")
        let start = Date()
        let tickets = try (0..<50).map { index in
            try store.registrationTicket(
                machineID: node, publicArea: [1], name: [0, 0x0b, UInt8(index)], challenge: [UInt8(index)], now: start)
        }
        #expect(try store.machine(named: "node").id == node && store.attestations(machineID: node).isEmpty)
        #expect(
            try store.activateAttestationKey(ticket: tickets[7], proof: [8], now: start) == nil, "the wrong credential")
        let id = try #require(try store.activateAttestationKey(ticket: tickets[7], proof: [7], now: start))
        #expect(
            try store.activateAttestationKey(ticket: tickets[7], proof: [7], now: start) == id,
            "the same ticket again is the same key")
        #expect(throws: StoreError.notFound("registration: expired")) {
            _ = try store.activateAttestationKey(ticket: tickets[9], proof: [9], now: start.addingTimeInterval(61))
        }
        var tampered = tickets[10]
        tampered[tampered.count / 2] ^= 1
        #expect(throws: StoreError.notFound("registration: not one this server issued")) {
            _ = try store.activateAttestationKey(ticket: tampered, proof: [10], now: start)
        }
        let (other, _, _) = try backend.freshStore()
        #expect(throws: StoreError.self, "another store's key") {
            _ = try other.activateAttestationKey(ticket: tickets[11], proof: [11], now: start)
        }
    }

    /// Self-registered machines are capped; the same EK registering again is the same row;
    /// discovered machines nobody adopts expire, audited, and an operator can forget one.
    @Test(arguments: StoreBackend.allCases) func discoveredMachinesAreCappedExpireAndCanBeForgotten(
        backend: StoreBackend
    ) throws {
        var limits = EnrolmentStore.Limits()
        limits.maxDiscoveredMachines = 20
        limits.discoveredMachineLifetime = 3_600
        let (store, _, _) = try backend.freshStore(limits: limits)
        let start = Date()
        for index in 0..<20 {
            _ = try store.discover(
                ekPublic: [1], ekName: [0, 0x0b] + BigEndian.bytes(UInt32(index)), ekCertificate: nil, now: start)
        }
        #expect(throws: StoreError.self) {
            _ = try store.discover(
                ekPublic: [1], ekName: [0, 0x0b, 0xff, 0xff, 0xff, 0xff, 0xff], ekCertificate: nil, now: start)
        }
        #expect(
            try store.discover(ekPublic: [1], ekName: [0, 0x0b, 0, 0, 0, 0], ekCertificate: nil)
                == store.discover(ekPublic: [1], ekName: [0, 0x0b, 0, 0, 0, 0], ekCertificate: nil))

        let name = try #require(try store.machines().first?.name)
        try store.forget(discoveredMachineNamed: name, actor: "operator/test")
        #expect(
            try store.machines().count == 19
                && store.auditRecords(subjectPrefix: "machine/").last?.action == "discovery-forgotten")
        let enrolled = try store.enroll(machine("node"), actor: "test")
        #expect(throws: StoreError.self, "an enrolled machine is revoked, not forgotten") {
            try store.forget(discoveredMachineNamed: "node", actor: "test")
        }

        let later = start.addingTimeInterval(3_601)
        _ = try store.discover(
            ekPublic: [1], ekName: [0, 0x0b, 0xff, 0xff, 0xff, 0xff, 0xff], ekCertificate: nil, now: later)
        #expect(
            try store.machines().map(\.id).contains(enrolled) && store.machines().count == 2,
            "the expired ones made room")
        let record = try #require(try store.auditRecords(subjectPrefix: "machines").last)
        #expect(
            record.action == "discovery-expired" && record.details.hasPrefix("19 discovered machine(s)"),
            "\(record.details)")
    }

    /// The parts of an upload that never became an image (its appliance crashed between the
    /// parts and the record) are swept a day later; an image's parts, and a recent upload's,
    /// stay.
    @Test(arguments: StoreBackend.allCases) func partsNoImageClaimsAreSweptADayLater(backend: StoreBackend) throws {
        let (store, _, _) = try backend.freshStore()
        let start = Date()
        let size = EnrolmentStore.imagePartSize + 5
        let (crashed, imaged, recent) = (
            [UInt8](repeating: 1, count: 32), [UInt8](repeating: 2, count: 32), [UInt8](repeating: 3, count: 32)
        )
        for digest in [crashed, imaged] {
            try store.storeImageContent(sha256: digest, bytes: [UInt8](repeating: 7, count: size), now: start)
        }
        try store.addImage(
            ImageRecord(
                name: "node", sha256: imaged, sha384: [UInt8](repeating: 2, count: 48),
                authenticodeSHA256: imaged, linuxSHA256: imaged, initrdSHA256: imaged, commandLine: "console=ttyS0",
                size: size, kernelAuthenticodeSHA256: nil, sectionMeasurements: nil), actor: "test")
        let later = start.addingTimeInterval(EnrolmentStore.orphanImagePartLifetime + 1)
        try store.storeImageContent(sha256: recent, bytes: [UInt8](repeating: 7, count: size), now: later)

        #expect(try store.expireUnclaimed(now: start.addingTimeInterval(60)).imageParts == 0, "not a day yet")
        #expect(try store.expireUnclaimed(now: later).imageParts == 2, "both parts of the crashed upload")
        #expect(try !store.hasImageContent(sha256: crashed, size: size))
        #expect(try store.hasImageContent(sha256: imaged, size: size))
        #expect(try store.hasImageContent(sha256: recent, size: size))
    }

    @Test(arguments: StoreBackend.allCases) func operatorCertificatesAreRecordedAndRevoked(backend: StoreBackend) throws
    {
        let (store, _, _) = try backend.freshStore()
        try store.recordOperatorCertificate(serial: "01", name: "alice", role: .auditor, actor: "test")
        try store.recordOperatorCertificate(serial: "01", name: "alice", role: .auditor, actor: "test")
        #expect(try store.operatorCertificates().count == 1)
        #expect(try store.revokeOperator(named: "alice", actor: "test") == 1)
        #expect(try store.operatorCertificate(serial: "01")?.revokedAt != nil)
        #expect(throws: StoreError.self) { try store.revokeOperator(named: "alice", actor: "test") }
    }

    @Test(arguments: StoreBackend.allCases) func agentsGetTheAgentTokenAndServersTheClusterToken(backend: StoreBackend)
        throws
    {
        let (store, _, _) = try backend.freshStore()
        let token = Secret(text: "K10" + String(repeating: "ab", count: 32) + "::server:0123456789abcdef")
        let agentToken = Secret(text: "K10" + String(repeating: "ab", count: 32) + "::node:fedcba9876543210")
        try store.addCluster(
            name: "c1", serverURL: "https://k3s:6443", token: token, agentToken: agentToken, actor: "test")
        try store.addCluster(name: "c2", serverURL: "https://k3s2:6443", token: token, agentToken: nil, actor: "test")
        let agent = try store.enroll(machine("agent", cluster: "c1", role: .agent), actor: "test")
        let server = try store.enroll(machine("server", cluster: "c1", role: .server), actor: "test")
        let lone = try store.enroll(machine("lone", cluster: "c2", role: .agent), actor: "test")
        #expect(try store.joinSecrets(machineID: agent)?.token == agentToken)
        #expect(try store.joinSecrets(machineID: server)?.token == token)
        #expect(try store.joinSecrets(machineID: lone)?.token == token)
        #expect(try store.clusters().map(\.machines) == [2, 1])
        #expect(try store.clusters().map(\.hasAgentToken) == [true, false])
    }

    func machine(_ name: String, macs: [String] = [], cluster: String? = nil, role: MachineRole? = nil)
        -> MachineEnrolment
    {
        MachineEnrolment(
            name: name, ekPublic: [1], ekName: [0, 0x0b] + Array(name.utf8), macs: macs, cluster: cluster, role: role)
    }

    /// An activated attestation key of `machineID`, and what its challenge requests show.
    private func activatedKey(_ store: EnrolmentStore, machineID: Int64) throws -> (id: Int64, proof: [UInt8]) {
        let credential = SecureRandom.bytes(32)
        let ticket = try store.registrationTicket(
            machineID: machineID, publicArea: [1], name: SecureRandom.bytes(34), challenge: credential)
        let key = try #require(try store.activateAttestationKey(ticket: ticket, proof: credential))
        return (key, ChallengeProof.make(activationSecret: credential, attestationKeyID: key))
    }

    private func issued(_ issue: NonceIssue) throws -> [UInt8] {
        guard case .issued(let nonce) = issue else { throw StoreError.invalid("no nonce: \(issue)") }
        return nonce
    }

    /// Consumes `nonce` the only way the store does: by recording an attestation with it.
    @discardableResult
    private func consume(
        _ nonce: [UInt8], key: Int64, machineID: Int64, store: EnrolmentStore, now: Date, eventLog: [UInt8]? = nil
    ) async throws -> Int64 {
        try await store.record(
            AttestationOutcome(
                machineID: machineID, attestationKeyID: key,
                evidence: Evidence(
                    attestationKey: [], attest: [], signature: [], pcrs: [], eventLog: eventLog, nonce: nonce),
                passed: false, reasons: ["test"], policyID: nil, clock: nil), actor: "test", now: now
        ).id
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        Data(haystack).range(of: Data(needle)) != nil
    }
}
