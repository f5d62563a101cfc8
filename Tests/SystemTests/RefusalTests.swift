import Foundation
import NIOHTTP1
import Store
import Testing
import TestSupport
import WardenAPI
import WardenClient
import WardenCrypto

/// Each refusal over the real HTTPS API: nothing released, and an audit record naming it.
/// Each test awaits the server on a thread of its own: a nonce lives 60 s.
@Suite(.dedicatedThread) struct RefusalTests {
    /// A second TPM that presents the enrolled machine's EK public key cannot activate an
    /// AK against it: the credential is wrapped to the real EK's private part.
    @Test func aTPMWithoutTheEnrolledEKsPrivatePartIsRefused() async throws {
        let rig = try SystemRig()
        let genuine = try SoftwareTPM()
        let id = try rig.enroll(genuine, as: "node-1")
        let impostor = try await ManualAgent(tpm: try SoftwareTPM(), server: rig.server)
        let registration = try await impostor.register(ekPublic: try genuine.bytes("ek.pub"))
        #expect(throws: (any Error).self) {
            _ = try impostor.device.activateCredential(
                ak: impostor.ak, ek: impostor.ek, credentialBlob: impostor.bytes(registration.credentialBlob),
                encryptedSecret: impostor.bytes(registration.encryptedSecret))
        }
        await expectRefusal("activation") {
            let _: AgentMessages.ActivateResponse = try await impostor.client.call(
                .POST, "/v1/agent/activate",
                AgentMessages.ActivateRequest(
                    registration: registration.registration, proof: impostor.b64(SecureRandom.bytes(32))))
        }
        await expectRefusal("notActivated") { _ = try await impostor.nonce(1, proof: SecureRandom.bytes(32)) }
        #expect(
            try rig.store.auditRecords(subjectPrefix: "registration").contains {
                $0.details.contains("wrong credential")
            })
        #expect(try rig.store.attestations(machineID: id).isEmpty)
    }

    /// A registration the agent never activated is no key: a nonce or a quote for the id it
    /// would have had is refused like any unknown key's.
    @Test func anAKNeverActivatedCannotQuote() async throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        let id = try rig.enroll(tpm, as: "node-1")
        let agent = try await ManualAgent(tpm: tpm, server: rig.server)
        _ = try await agent.register()
        await expectRefusal("notActivated") { _ = try await agent.nonce(1, proof: SecureRandom.bytes(32)) }
        await expectRefusal("nonce") {
            _ = try await agent.attest(try agent.evidence(1, nonce: SecureRandom.bytes(32)))
        }
        let refusals = try rig.store.auditRecords(subjectPrefix: "attestation-key/1").map(\.details)
        #expect(
            refusals.contains { $0.contains("challenge refused: unknownKey") }
                && refusals.contains { $0.contains("unknown key") }, "\(refusals)")
        #expect(try rig.store.attestations(machineID: id).isEmpty)
    }

    @Test func replayedAndForeignNoncesAreRefused() async throws {
        let rig = try SystemRig()
        let tpmA = try SoftwareTPM(), tpmB = try SoftwareTPM()
        let a = try rig.enroll(tpmA, as: "node-a")
        try rig.enroll(tpmB, as: "node-b")
        let agentA = try await ManualAgent(tpm: tpmA, server: rig.server)
        let agentB = try await ManualAgent(tpm: tpmB, server: rig.server)
        let keyA = try await agentA.activate(try await agentA.register())
        let keyB = try await agentB.activate(try await agentB.register())

        let body = try agentA.evidence(keyA.id, nonce: try await agentA.nonce(keyA.id, proof: keyA.proof))
        _ = try await agentA.attest(body)
        // Each is answered alike: whoever sends it learns nothing of the key or the nonce.
        await expectRefusal("nonce", containing: "not issued to this attestation key") {
            _ = try await agentA.attest(body)
        }
        // B's nonce in A's quote.
        let foreign = try agentA.evidence(keyA.id, nonce: try await agentB.nonce(keyB.id, proof: keyB.proof))
        await expectRefusal("nonce", containing: "not issued to this attestation key") {
            _ = try await agentA.attest(foreign)
        }
        await expectRefusal("nonce", containing: "not issued to this attestation key") {
            _ = try await agentA.attest(try agentA.evidence(keyA.id, nonce: SecureRandom.bytes(32)))
        }
        // The first refusal is recorded with its reason; the rest are counted into a summary.
        let refusals = try rig.store.auditRecords(subjectPrefix: "attestation-key/\(keyA.id)").map(\.details)
        #expect(refusals == ["attestation refused: nonce refused: already used"], "\(refusals)")
        #expect(try rig.store.attestations(machineID: a).count == 1, "a refused nonce recorded evidence")
    }

    @Test func adminCallsNeedAValidCertificateAndTheOperatorRole() async throws {
        let rig = try SystemRig()
        let anonymous = try await HTTPSClient(url: rig.server.url, serverCA: rig.server.serverCA)
        let response = try await anonymous.send(.GET, "/v1/admin/machines")
        #expect(response.status == 401)
        #expect(
            try rig.store.auditRecords(subjectPrefix: "admin/machines").contains {
                $0.details.contains("client certificate")
            })

        let auditor = rig.file("auditor")
        try rig.expectSuccess(rig.server.cli(["operator", "add", "alice", "--role", "auditor", "--out", auditor.path]))
        #expect(
            try FileManager.default.attributesOfItem(atPath: auditor.appendingPathComponent("key.pem").path)[
                .posixPermissions] as? Int == 0o600)
        try rig.expectSuccess(rig.server.cli(["machine", "list"], identity: auditor))
        let tpm = try SoftwareTPM()
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        let enrol = try rig.server.cli(
            ["machine", "enroll", "node-1", "--ek", tpm.folder.appendingPathComponent("ek.pub").path], identity: auditor
        )
        #expect(enrol.status == 1 && enrol.stderr.contains("403"))
        #expect(try rig.store.machines().isEmpty)
        #expect(
            try rig.store.auditRecords(subjectPrefix: "admin/machines").contains {
                $0.details.contains("auditor role may only read")
            })

        try rig.expectSuccess(rig.server.cli(["operator", "revoke", "alice"]))
        let revoked = try rig.server.cli(["machine", "list"], identity: auditor)
        #expect(revoked.status == 1 && revoked.stderr.contains("revoked"))

        // A client certificate from another CA does not even complete the handshake.
        let stranger = rig.file("stranger")
        try FileManager.default.createDirectory(at: stranger, withIntermediateDirectories: true)
        try rig.expectSuccess(
            Command.run(
                "openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
                    "/OU=operator/CN=mallory",
                    "-keyout", stranger.appendingPathComponent("key.pem").path, "-out",
                    stranger.appendingPathComponent("cert.pem").path, "-days", "1",
                ]))
        try FileManager.default.copyItem(
            atPath: rig.server.serverCA, toPath: stranger.appendingPathComponent("ca.pem").path)
        #expect(try rig.server.cli(["machine", "list"], identity: stranger).status == 1)
    }

    @Test func oversizedAndMalformedBodiesAreRefused() async throws {
        let rig = try SystemRig()
        let client = try await HTTPSClient(url: rig.server.url, serverCA: rig.server.serverCA)
        let huge = try await client.send(
            .POST, "/v1/agent/register", body: Array(repeating: UInt8(ascii: "a"), count: 5 * 1024 * 1024))
        #expect(huge.status == 413)
        let fresh = try await HTTPSClient(url: rig.server.url, serverCA: rig.server.serverCA)
        #expect(try await fresh.send(.POST, "/v1/agent/register", body: Array("{\"ekPublic\": 7".utf8)).status == 400)
        #expect(
            try await fresh.send(
                .POST, "/v1/agent/register", body: Array("{\"ekPublic\": \"!!\", \"akPublic\": \"\"}".utf8)
            ).status == 403)
        #expect(
            try await fresh.send(.POST, "/v1/agent/challenge", body: Array("{\"attestationKeyID\": 99}".utf8)).status
                == 400, "no proof")
        #expect(
            try await fresh.send(
                .POST, "/v1/agent/challenge", body: Array("{\"attestationKeyID\": 99, \"proof\": \"AAAA\"}".utf8)
            ).status == 403)
    }

    @Test func aFloodFromOneAddressIsRateLimitedAndAuditedOnce() async throws {
        let server = try WardenServerProcess(environment: [
            "WARDEN_RATE_LIMIT_PER_SECOND": "0.0001", "WARDEN_RATE_LIMIT_BURST": "5",
        ])
        let client = try await HTTPSClient(url: server.url, serverCA: server.serverCA)
        var statuses: [Int] = []
        for _ in 0..<40 {
            statuses.append(
                try await client.send(
                    .POST, "/v1/agent/challenge", body: Array("{\"attestationKeyID\": 1, \"proof\": \"AAAA\"}".utf8)
                ).status)
        }
        #expect(
            statuses.prefix(5).allSatisfy { $0 == 403 } && statuses.suffix(30).allSatisfy { $0 == 429 }, "\(statuses)")
        let state = server.stateDir
        let store = try EnrolmentStoreReader.open(state)
        #expect(try store.auditRecords(subjectPrefix: "rate-limit").count == 1)
        // Five refused by the service: the first recorded, the rest counted for a summary.
        #expect(
            try store.auditRecords(subjectPrefix: "attestation-key/1").count == 1,
            "refused requests reached the service; the server's log: \((try? String(contentsOf: server.log, encoding: .utf8)) ?? "")"
        )
        // Anonymous admin calls from the same address share its budget: refused, not each audited.
        for _ in 0..<20 { #expect(try await client.send(.GET, "/v1/admin/machines").status == 429) }
        #expect(try store.auditRecords(subjectPrefix: "admin/").isEmpty)
    }

    private func expectRefusal(_ error: String, containing text: String = "", _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected a \(error) refusal")
        } catch let refusal as APIRefusal {
            #expect(refusal.error == error && (text.isEmpty || refusal.reason.contains(text)), "\(refusal)")
        } catch {
            Issue.record("expected a refusal, got \(error)")
        }
    }
}
