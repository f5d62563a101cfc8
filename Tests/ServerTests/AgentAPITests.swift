import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Server
import Store
import Testing
import TestSupport
import TPM
import TSS
import WardenAPI
import WardenCrypto

/// The agent API over real HTTPS on loopback, driven by curl, with a real TPM behind the
/// agent's side: enrol, register, activate, challenge, attest, open the release.
@Suite struct AgentAPITests {
    final class PortBox: @unchecked Sendable {
        private let lock = NSLock()
        private var port: Int?
        func set(_ value: Int) { lock.withLock { port = value } }
        var value: Int? { lock.withLock { port } }
    }

    struct Client {
        let base: String
        let caPath: String
        let folder: URL

        /// POSTs `body` as JSON with curl (trusting only Warden's CA): (HTTP status, body).
        func post<T: Encodable>(_ path: String, _ body: T) throws -> (status: Int, body: [String: Any]) {
            let file = folder.appendingPathComponent(UUID().uuidString + ".json")
            try JSONEncoder().encode(body).write(to: file)
            let result = try Command.run(
                "curl",
                [
                    "-sS", "--cacert", caPath, "-H", "content-type: application/json", "--data-binary", "@" + file.path,
                    "-w", "\n%{http_code}", base + path,
                ])
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let status = Int(lines.last ?? "") ?? 0
            let text = lines.dropLast().joined(separator: "\n")
            let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            return (status, json)
        }
    }

    struct ProofBody: Encodable { let attestationKeyID: Int64; let proof: String }
    struct AttestBody: Encodable { let attestationKeyID: Int64; let nonce, attest, signature, pcrs: String }

    @Test func aMachineAttestsOverHTTPSAndOpensItsRelease() async throws {
        let stateURL = try TestPaths.temporaryDirectory("agent-api").appendingPathComponent(".warden")
        let state = try StateFolder.initialise(at: stateURL.path)
        let store = try EnrolmentStore(
            path: stateURL.appendingPathComponent("warden.sqlite").path, key: state.keyEncryptionKey())
        let port = PortBox()
        var configuration = WardenConfiguration()
        configuration.apiPort = 0
        let app = try WardenServer.application(state: state, store: store, configuration: configuration) {
            port.set($0)
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "agent-api-test")))
        // The server's tasks on a thread of their own: a nonce lives 60 s, and the cooperative
        // pool can be blocked longer than that by the other suites' tests.
        let serverThread = DedicatedThreadExecutor()
        defer { serverThread.finish() }
        let server = Task(executorPreference: serverThread) { try await group.run() }
        do {
            for _ in 0..<100 where port.value == nil { try await Task.sleep(for: .milliseconds(50)) }
            let listening = try #require(port.value)
            let client = Client(
                base: "https://localhost:\(listening)/v1/agent/", caPath: state.url(.serverCA).path, folder: stateURL)
            // curl against the server in this process: off the cooperative pool it needs.
            try await offPool { try walkTheFlow(client: client, state: state, store: store) }
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        // Stopped as `warden serve` will stop on SIGTERM: gracefully.
        await group.triggerGracefulShutdown()
        try await server.value
    }

    /// The agent's side, with curl for HTTP and a real TPM for the TPM.
    private func walkTheFlow(client: Client, state: StateFolder, store: EnrolmentStore) throws {
        let tpm = try SoftwareTPM()
        let device = try TPMDevice(tcti: tpm.tcti)
        let ek = try device.createEndorsementKey()
        let ak = try device.createAttestationKey(under: ek)
        let akName = try #require(try TPMPublic.decode(ak.publicArea).name)
        let b64 = { (bytes: [UInt8]) in Data(bytes).base64EncodedString() }
        func bytes(_ value: Any?) throws -> [UInt8] {
            guard let text = value as? String, let data = Data(base64Encoded: text) else {
                throw AttestationRefusal(.evidence, "no base64 field in the response")
            }
            return [UInt8](data)
        }

        // Not enrolled yet: refused with its reason.
        let refused = try client.post(
            "register", AgentMessages.RegisterRequest(ekPublic: b64(ek.publicArea), akPublic: b64(ak.publicArea)))
        #expect(refused.status == 403 && refused.body["error"] as? String == "unknownEndorsementKey")

        let machineID = try store.enroll(
            MachineEnrolment(
                name: "node-1", ekPublic: ek.publicArea, ekName: try #require(TPMPublic.decode(ek.publicArea).name)),
            actor: "test")
        let registered = try client.post(
            "register", AgentMessages.RegisterRequest(ekPublic: b64(ek.publicArea), akPublic: b64(ak.publicArea)))
        #expect(registered.status == 200)
        let ticket = try #require(registered.body["registration"] as? String)
        let proof = try device.activateCredential(
            ak: ak, ek: ek, credentialBlob: bytes(registered.body["credentialBlob"]),
            encryptedSecret: bytes(registered.body["encryptedSecret"]))
        let activated = try client.post(
            "activate", AgentMessages.ActivateRequest(registration: ticket, proof: b64(proof)))
        #expect(activated.status == 200)
        let keyID = try #require((activated.body["attestationKeyID"] as? NSNumber)?.int64Value)

        let selection = PCRSelection([PCRSelection.Bank(hash: .sha256, pcrs: Array(0...9) + [11, 12])])
        // Its id alone gets no nonce: the challenge shows proof of the activation's secret.
        let guessed = try client.post(
            "challenge", ProofBody(attestationKeyID: keyID, proof: b64(SecureRandom.bytes(32))))
        #expect(guessed.status == 403 && guessed.body["nonce"] == nil)
        let shown = ChallengeProof.make(activationSecret: proof, attestationKeyID: keyID)
        let nonce = try bytes(
            try client.post("challenge", ProofBody(attestationKeyID: keyID, proof: b64(shown))).body["nonce"])
        let quote = try device.quote(with: ak, selection: selection, nonce: nonce)
        let pcrs = try TPM2ToolsPCRFile.serialize(PCRValues(selection: selection, values: device.readPCRs(selection)))
        let body = AttestBody(
            attestationKeyID: keyID, nonce: b64(nonce), attest: b64(quote.attest), signature: b64(quote.signature),
            pcrs: b64(pcrs))
        let released = try client.post("attest", body)
        #expect(released.status == 200, "\(released.body)")

        let release = SealedRelease(
            credential: CredentialChallenge(
                credentialBlob: try bytes(released.body["credentialBlob"]),
                encryptedSecret: try bytes(released.body["encryptedSecret"])),
            ciphertext: try bytes(released.body["ciphertext"]), signature: try bytes(released.body["signature"]))
        #expect(release.isSigned(by: try state.releaseKey().publicKey, for: akName))
        let key = try device.activateCredential(
            ak: ak, ek: ek, credentialBlob: release.credential.credentialBlob,
            encryptedSecret: release.credential.encryptedSecret)
        let payload = try JSONDecoder().decode(
            ReleasePayload.self, from: Data(release.open(withActivatedKey: key, akName: akName)))
        #expect(
            payload.diskKey == (try store.releaseSecrets(machineID: machineID).diskKey),
            "the released disk key is not the machine's")

        // The same nonce again: refused, and nothing released.
        let replay = try client.post("attest", body)
        #expect(replay.status == 403 && replay.body["error"] as? String == "nonce" && replay.body["ciphertext"] == nil)
        // A client that does not trust Warden's CA does not talk to it.
        let untrusted = try Command.run("curl", ["-sS", "-o", "/dev/null", client.base + "challenge"])
        #expect(untrusted.status != 0)
    }
}
