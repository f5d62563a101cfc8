import Foundation
import NIOPosix
@testable import Server
import Store
import Testing
import TestSupport
import TPM
import TSS
import WardenAPI
import WardenCrypto

/// The whole flow with a real TPM (swtpm through libtss2-esys) against the service and a
/// real store: enrol, register, activate, challenge, quote, release, and the refusals.
@Suite struct AttestationServiceTests {
    static let selection = PCRSelection([PCRSelection.Bank(hash: .sha256, pcrs: Array(0...9) + [11, 12])])

    final class Rig {
        let tpm: SoftwareTPM
        let device: TPMDevice
        let ek: TPMDevice.LoadedKey
        let ak: TPMDevice.LoadedKey
        let store: EnrolmentStore
        let service: AttestationService
        let releaseKey: SigningKey

        init(enrolled: Bool = true) throws {
            tpm = try SoftwareTPM()
            device = try TPMDevice(tcti: tpm.tcti)
            ek = try device.createEndorsementKey()
            ak = try device.createAttestationKey(under: ek)
            let folder = try TestPaths.temporaryDirectory("service")
            store = try EnrolmentStore(
                path: folder.appendingPathComponent("warden.sqlite").path,
                key: try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path))
            releaseKey = try SigningKey.ec(.p256)
            service = AttestationService(store: store, releaseKey: releaseKey)
            if enrolled {
                try store.enroll(
                    MachineEnrolment(
                        name: "node-1", ekPublic: ek.publicArea,
                        ekName: try #require(TPMPublic.decode(ek.publicArea).name)), actor: "test")
            }
        }

        /// An activated key's id and what its challenge requests show.
        struct ActivatedKey {
            let id: Int64
            let proof: [UInt8]
        }

        /// Register and activate, as the agent does.
        func activatedKey() throws -> ActivatedKey {
            let registration = try service.register(ekPublic: ek.publicArea, akPublic: ak.publicArea)
            let secret = try device.activateCredential(
                ak: ak, ek: ek, credentialBlob: registration.challenge.credentialBlob,
                encryptedSecret: registration.challenge.encryptedSecret)
            let id = try service.activate(registration: registration.ticket, proof: secret)
            return ActivatedKey(id: id, proof: ChallengeProof.make(activationSecret: secret, attestationKeyID: id))
        }

        /// Challenge, quote, submit (to `other`, or the rig's service); the release opened as
        /// the agent opens it.
        func attest(_ key: ActivatedKey, nonce: [UInt8]? = nil, via other: AttestationService? = nil) async throws
            -> ReleasePayload
        {
            let keyID = key.id
            let nonce = try nonce ?? service.challenge(attestationKeyID: keyID, proof: key.proof)
            let quote = try device.quote(with: ak, selection: AttestationServiceTests.selection, nonce: nonce)
            let values = try PCRValues(
                selection: AttestationServiceTests.selection, values: device.readPCRs(AttestationServiceTests.selection)
            )
            let evidence = Evidence(
                attestationKey: [], attest: quote.attest, signature: quote.signature,
                pcrs: try TPM2ToolsPCRFile.serialize(values), nonce: nonce)
            let release = try await (other ?? service).attest(attestationKeyID: keyID, evidence: evidence)
            let akName = try #require(try TPMPublic.decode(ak.publicArea).name)
            guard release.isSigned(by: try releaseKey.publicKey, for: akName) else {
                throw AttestationRefusal(.internalError, "unsigned release")
            }
            let key = try device.activateCredential(
                ak: ak, ek: ek, credentialBlob: release.credential.credentialBlob,
                encryptedSecret: release.credential.encryptedSecret)
            return try JSONDecoder().decode(
                ReleasePayload.self, from: Data(release.open(withActivatedKey: key, akName: akName)))
        }
    }

    @Test func enrolledMachineGetsItsDiskKeyTwiceThenAChangedPCRIsRefused() async throws {
        let rig = try Rig()
        let keyID = try rig.activatedKey()
        let first = try await rig.attest(keyID)
        #expect(first.nodeName == "node-1")
        let machineID = try #require(try rig.store.machine(ekName: TPMPublic.decode(rig.ek.publicArea).name!)?.id)
        #expect(
            first.diskKey == (try rig.store.releaseSecrets(machineID: machineID).diskKey),
            "the released disk key is not the machine's")
        let second = try await rig.attest(keyID)
        #expect(sameSecret(second, first), "a second attestation released another payload")
        #expect(try rig.store.latestPolicy(name: "machine-node-1")?.version == 1)

        try rig.tpm.run("tpm2_pcrextend", ["4:sha256=" + String(repeating: "ee", count: 32)], flushingTransients: false)
        await #expect { try await rig.attest(keyID) } throws: {
            ($0 as? AttestationRefusal)?.reason == .policy && "\($0)".contains("PCR 4 (sha256)")
        }
        let audit = try rig.store.auditRecords(subjectPrefix: "machine/\(machineID)/attestation")
        #expect(audit.map(\.details).filter { $0.hasPrefix("passed under policy machine-node-1 version 1") }.count == 2)
        #expect(audit.last?.details.contains("PCR 4") == true)
    }

    /// A stored policy version this Warden reads more strictly (here: a misspelt key,
    /// which earlier versions dropped): the machine is refused, and the refusal recorded.
    @Test func aPolicyThatNoLongerParsesRefusesAndIsRecorded() async throws {
        let rig = try Rig(enrolled: false)
        _ = try rig.store.savePolicy(name: "strict", yaml: "name: strict\nimgae: required\n", actor: "test")
        try rig.store.enroll(
            MachineEnrolment(
                name: "node-1", ekPublic: rig.ek.publicArea,
                ekName: try #require(TPMPublic.decode(rig.ek.publicArea).name),
                policy: "strict"), actor: "test")
        let keyID = try rig.activatedKey()
        await #expect { try await rig.attest(keyID) } throws: {
            ($0 as? AttestationRefusal)?.reason == .policy && "\($0)".contains("unknown key \"imgae\"")
        }
        let machineID = try #require(try rig.store.machine(ekName: TPMPublic.decode(rig.ek.publicArea).name!)?.id)
        #expect(
            try rig.store.auditRecords(subjectPrefix: "machine/\(machineID)/attestation").last?.details.contains(
                "refused under policy strict version 1") == true)
    }

    @Test func replayedAndForeignNoncesAreRefused() async throws {
        let rig = try Rig()
        let keyID = try rig.activatedKey()
        let nonce = try rig.service.challenge(attestationKeyID: keyID.id, proof: keyID.proof)
        _ = try await rig.attest(keyID, nonce: nonce)
        await #expect { try await rig.attest(keyID, nonce: nonce) } throws: {
            ($0 as? AttestationRefusal)?.reason == .nonce
        }
        await #expect { try await rig.attest(keyID, nonce: SecureRandom.bytes(32)) } throws: {
            ($0 as? AttestationRefusal)?.reason == .nonce
        }
    }

    /// An appliance with as many attestations under way as it allows answers `unavailable`
    /// and records nothing: the same nonce then passes where there is room.
    @Test func anAttestationBeyondTheBoundIsUnavailableAndRecordsNothing() async throws {
        // Both attempts use one nonce, which lives 60 s, with waits between them: they resume
        // on a thread of the test's own, never on a cooperative pool the suite's blocking
        // tests may keep busy for longer than that.
        let ownThread = NIOThreadPool(numberOfThreads: 1)
        ownThread.start()
        try await withTaskExecutorPreference(ThreadPoolExecutor(ownThread)) {
            let rig = try Rig()
            let keyID = try rig.activatedKey()
            let full = AttestationService(store: rig.store, releaseKey: rig.releaseKey, maxAttestationsUnderWay: 0)
            let nonce = try rig.service.challenge(attestationKeyID: keyID.id, proof: keyID.proof)
            await #expect { try await rig.attest(keyID, nonce: nonce, via: full) } throws: {
                ($0 as? AttestationRefusal)?.reason == .unavailable
            }
            #expect(try rig.store.attestations(matching: AttestationFilter()).isEmpty)
            let payload = try await rig.attest(keyID, nonce: nonce)
            #expect(payload.nodeName == "node-1")
        }
        try await ownThread.shutdownGracefully()
    }

    /// A TPM whose reset and restart counters went back (its state rolled back, or another
    /// TPM replaying it) is refused, even with a valid quote.
    @Test func countersGoingBackwardsAreRefused() async throws {
        let rig = try Rig()
        let keyID = try rig.activatedKey()
        let machineID = try #require(try rig.store.machine(ekName: TPMPublic.decode(rig.ek.publicArea).name!)?.id)
        // An earlier passing attestation saw this TPM far later in its life.
        guard case .issued(let nonce) = try rig.store.issueNonce(attestationKeyID: keyID.id, proof: keyID.proof) else {
            throw AttestationRefusal(.nonce, "no nonce")
        }
        try await rig.store.record(
            AttestationOutcome(
                machineID: machineID, attestationKeyID: keyID.id,
                evidence: Evidence(attestationKey: [], attest: [], signature: [], pcrs: [], nonce: nonce), passed: true,
                reasons: [], policyID: nil, clock: .init(clock: 1 << 40, resetCount: 1_000, restartCount: 0, safe: true)
            ), actor: "test")
        await #expect { try await rig.attest(keyID) } throws: {
            ($0 as? AttestationRefusal)?.reason == .counters && "\($0)".contains("went back")
        }
        let audit = try rig.store.auditRecords(subjectPrefix: "machine/\(machineID)/attestation")
        #expect(audit.last?.details.contains("resetCount/restartCount went back") == true)
    }

    @Test func unknownEKAndUnactivatedAKAreRefused() throws {
        let stranger = try Rig(enrolled: false)
        #expect {
            try stranger.service.register(ekPublic: stranger.ek.publicArea, akPublic: stranger.ak.publicArea)
        } throws: {
            ($0 as? AttestationRefusal)?.reason == .unknownEndorsementKey
        }
        let rig = try Rig()
        let registration = try rig.service.register(ekPublic: rig.ek.publicArea, akPublic: rig.ak.publicArea)
        #expect { try rig.service.challenge(attestationKeyID: 1, proof: SecureRandom.bytes(32)) } throws: {
            ($0 as? AttestationRefusal)?.reason == .notActivated
        }
        #expect { try rig.service.activate(registration: registration.ticket, proof: SecureRandom.bytes(32)) } throws: {
            ($0 as? AttestationRefusal)?.reason == .activation
        }
    }

    /// Whoever knows a key's id — ids are sequential — gets no nonce for it, and learns
    /// nothing of it: an unknown key, one never activated and a wrong proof are answered
    /// alike. However many nonces an attacker asks for, the machine still gets its own.
    @Test func nobodyButTheMachineCanTakeItsNonces() async throws {
        let rig = try Rig()
        let key = try rig.activatedKey()
        var answers: Set<String> = []
        for id in [key.id, key.id + 1, 999] {
            for _ in 0..<8 {
                do {
                    _ = try rig.service.challenge(
                        attestationKeyID: id, proof: SecureRandom.bytes(32), from: "10.0.0.66")
                    Issue.record("a nonce for a wrong proof")
                } catch { answers.insert("\(error)") }
            }
        }
        #expect(answers.count == 1, "\(answers)")
        let payload = try await rig.attest(key)
        #expect(payload.nodeName == "node-1")
        let refusals = try rig.store.auditRecords(subjectPrefix: "attestation-key/")
        #expect(
            refusals.count == 1,
            "24 anonymous refusals, one record now; the rest are counted into one summary: \(refusals.map(\.details))")
    }
}
