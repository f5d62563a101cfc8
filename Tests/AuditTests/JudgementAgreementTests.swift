import Attestation
import Audit
import Foundation
import GRDB
@testable import Server
@testable import Store
import Testing
import TestSupport
import TPM
import TPMSimulation
import TSS
import WardenAPI
import WardenCrypto

/// The server and `warden audit verify` judge with one function, so they cannot disagree.
/// Machines with software TPM identities attest through the real attestation service into
/// a real store until every class of refusal has been seen, with passes by first use, under
/// a policy, unmeasured, and after an operator's approval; then the chain is exported and
/// every recorded attestation judged again from the bundle alone, to the same verdict,
/// reasons, boot reference and pin.
///
/// Each test runs on a thread of its own: a nonce lives 60 s, and in the full suite an
/// `await` resuming on the starved cooperative pool has waited longer than that, which
/// would turn the retired machine's refusal into a nonce's.
@Suite(.dedicatedThread) struct JudgementAgreementTests {
    static let selection = PCRSelection([PCRSelection.Bank(hash: .sha256, pcrs: Array(0...23))])
    static let booted = pcrValues(changing: nil)

    static func pcrValues(changing changed: Int?) -> PCRValues {
        // Valid by construction: 24 SHA-256 values for the 24 selected PCRs.
        try! PCRValues(
            selection: selection,
            values: (0..<24).map { DigestAlgorithm.sha256.hash([UInt8($0), $0 == changed ? 1 : 0]) })
    }

    /// One appliance: a state folder, its store and its attestation service.
    final class Appliance {
        let state: StateFolder
        let store: EnrolmentStore
        let service: AttestationService

        init() throws {
            state = try StateFolder.initialise(at: try TestPaths.temporaryDirectory("agreement").path + "/state")
            store = try EnrolmentStore(
                path: state.databasePath, key: state.keyEncryptionKey(),
                auditSigner: state.auditKey().checkpointSigner(interval: 10))
            service = AttestationService(store: store, releaseKey: try state.releaseKey())
        }

        /// Enrols a machine (held to `policy`, booting `image`), registers and activates its AK.
        func machine(_ name: String, policy: String? = nil, image: String? = nil) throws -> Machine {
            let ek = try SoftwareEndorsementKey()
            let ak = try SoftwareAttestationKey(scheme: .ecdsa(.sha256))
            let ekName = try #require(try TPMPublic.decode(ek.publicArea).name)
            try store.enroll(
                MachineEnrolment(name: name, ekPublic: ek.publicArea, ekName: ekName, policy: policy, image: image),
                actor: "test")
            let registration = try service.register(ekPublic: ek.publicArea, akPublic: ak.publicArea)
            let secret = try ek.activate(
                registration.challenge, objectName: try #require(try TPMPublic.decode(ak.publicArea).name))
            let keyID = try service.activate(registration: registration.ticket, proof: secret)
            return Machine(
                name: name, ak: ak, keyID: keyID,
                proof: ChallengeProof.make(activationSecret: secret, attestationKeyID: keyID), service: service)
        }
    }

    struct Machine {
        let name: String
        let ak: SoftwareAttestationKey
        let keyID: Int64
        let proof: [UInt8]
        let service: AttestationService

        func nonce() throws -> [UInt8] { try service.challenge(attestationKeyID: keyID, proof: proof) }

        /// Quotes `pcrs` at TPM clock `clock` of reset `resetCount` and submits it: nil when it
        /// passed, else the class the judgement refused it with.
        func attest(
            _ pcrs: PCRValues = booted, clock: UInt64, resetCount: UInt32 = 1, nonce given: [UInt8]? = nil,
            legacyBIOS: Bool = false,
            forgeSignature: Bool = false
        ) async throws -> Judgement.Refusal? {
            let nonce = try given ?? self.nonce()
            let quote = try ak.quote(
                pcrs, nonce: nonce, clock: .init(clock: clock, resetCount: resetCount, restartCount: 0, safe: true))
            var signature = quote.signature
            if forgeSignature { signature[signature.count - 1] ^= 1 }
            let evidence = Evidence(
                attestationKey: [], attest: quote.attest, signature: signature,
                pcrs: try TPM2ToolsPCRFile.serialize(pcrs), nonce: nonce,
                legacyBIOS: legacyBIOS)
            do throws(AttestationRefusal) {
                _ = try await service.attest(attestationKeyID: keyID, evidence: evidence)
                return nil
            } catch {
                guard let judged = error.judged else { throw error }
                return judged
            }
        }
    }

    @Test func theServerAndTheAuditorJudgeEveryAttestationAlike() async throws {
        let appliance = try Appliance()
        let store = appliance.store
        var seen: [Judgement.Refusal?] = []
        func expect(_ outcome: Judgement.Refusal?, _ expected: Judgement.Refusal?, _ what: String) {
            #expect(outcome == expected, "\(what)")
            seen.append(outcome)
        }

        // Trust on first use, then that pin; an approval; counters, a forgery, a replay.
        let first = try appliance.machine("first")
        let replayed = try first.nonce()
        expect(try await first.attest(clock: 100, nonce: replayed), nil, "first use pins")
        expect(try await first.attest(clock: 200), nil, "passes under its pin")
        expect(try await first.attest(Self.pcrValues(changing: 4), clock: 300), .policy, "a changed PCR 4")
        // An operator approves the changed PCR: it passes from then on.
        let admin = try AdminService(store: store, state: appliance.state, vendorCAs: .none)
        _ = try admin.approve(
            machineNamed: "first", attestationID: nil, by: AdminIdentity(name: "alice", role: .operator, serial: "01"))
        expect(try await first.attest(Self.pcrValues(changing: 4), clock: 400), nil, "passes after approval")
        expect(try await first.attest(clock: 500), .policy, "the PCR 4 it no longer has")
        // An export from here on carries no attestation recorded under machine-first version 2,
        // whose refusals below are decided before any policy: they need not its file.
        try await Task.sleep(for: .milliseconds(5))
        let cut = Date()
        let recordedBeforeCut = seen.filter { $0?.isRecorded ?? true }.count
        try await Task.sleep(for: .milliseconds(5))
        expect(try await first.attest(clock: 600, resetCount: 0), .counters, "the reset count went back")
        expect(try await first.attest(clock: 700, forgeSignature: true), .evidence, "a forged signature")
        expect(try await first.attest(clock: 800, nonce: replayed), .nonce, "a replayed nonce")

        // Unmeasured boots: refused on first use; allowed by a policy that says so, and bound
        // to their boot's reset count, so a later quote of that boot is unmeasured too.
        let legacy = try appliance.machine("legacy")
        expect(
            try await legacy.attest(clock: 100, legacyBIOS: true), .unmeasuredFirstUse,
            "a legacy BIOS boot on first use")
        _ = try store.savePolicy(name: "legacy-ok", yaml: "name: legacy-ok\nunmeasuredBoot: allowed\n", actor: "test")
        let allowed = try appliance.machine("legacy-allowed", policy: "legacy-ok")
        expect(try await allowed.attest(clock: 100, legacyBIOS: true), nil, "an unmeasured boot a policy allows")
        expect(try await allowed.attest(clock: 200), nil, "the same boot, judged unmeasured by its bound reset count")

        // A first use whose quote does not cover what a pin holds.
        let narrow = try appliance.machine("narrow")
        let eight = PCRSelection([PCRSelection.Bank(hash: .sha256, pcrs: Array(0...7))])
        expect(
            try await narrow.attest(
                PCRValues(selection: eight, values: Array(Self.booted.values.prefix(8))), clock: 100),
            .unpinnable, "PCRs 0–7 only")

        // Policies: one that does not parse, one the machine names but that is gone, an image
        // nothing says what it measures.
        _ = try store.savePolicy(name: "strict", yaml: "name: strict\nimgae: required\n", actor: "test")
        expect(
            try await appliance.machine("strict", policy: "strict").attest(clock: 100), .unreadablePolicy,
            "a misspelt key")
        _ = try store.savePolicy(name: "short-lived", yaml: "name: short-lived\n", actor: "test")
        let orphan = try appliance.machine("orphan", policy: "short-lived")
        _ = try await store.write { db in
            try db.execute(sql: "UPDATE machine SET policyName = 'gone' WHERE name = 'orphan'")
        }
        expect(try await orphan.attest(clock: 100), .missingPolicy, "a policy that does not exist")
        try store.storeImageContent(sha256: [UInt8](repeating: 1, count: 32), bytes: [0])
        try store.addImage(
            ImageRecord(
                name: "old", sha256: [UInt8](repeating: 1, count: 32), sha384: [UInt8](repeating: 2, count: 48),
                authenticodeSHA256: [UInt8](repeating: 3, count: 32), linuxSHA256: [UInt8](repeating: 4, count: 32),
                initrdSHA256: [UInt8](repeating: 5, count: 32), commandLine: "console=ttyS0", size: 1,
                kernelAuthenticodeSHA256: nil, sectionMeasurements: nil), actor: "test")
        _ = try store.savePolicy(name: "follows-image", yaml: "name: follows-image\nimage: required\n", actor: "test")
        expect(
            try await appliance.machine("imaged", policy: "follows-image", image: "old").attest(clock: 100),
            .unmeasuredImage,
            "an image without measurements")

        // Revoked or retired between its nonce and its quote: the nonce is good, the machine is not.
        let revoked = try appliance.machine("revoked")
        let pending = try revoked.nonce()
        try store.revoke(machineNamed: "revoked", actor: "test")
        expect(try await revoked.attest(clock: 100, nonce: pending), .revoked, "a machine revoked after its nonce")
        let retired = try appliance.machine("retired")
        let kept = try retired.nonce()
        _ = try await store.write { db in
            try db.execute(sql: "UPDATE machine SET state = 'retired' WHERE name = 'retired'")
        }
        expect(try await retired.attest(clock: 100, nonce: kept), .revoked, "a machine out of service")

        let classes = Set(seen.compactMap { $0 })
        #expect(
            classes == Set(Judgement.Refusal.allCases),
            "classes never produced: \(Set(Judgement.Refusal.allCases).subtracting(classes))")

        let recorded = seen.filter { $0?.isRecorded ?? true }.count
        let bundle = try TestPaths.temporaryDirectory("agreement-bundle").path + "/audit.tar.gz"
        let key = try appliance.state.auditKey()
        _ = try AuditExporter.export(from: store, key: key, request: .init(), to: bundle)
        let report = try AuditVerifier.verify(bundle: bundle, key: key.publicKey)
        #expect(report.failures == [])
        #expect(report.attestations == recorded && report.evidenceChecked == recorded)
        #expect(report.verdictsReproduced == recorded, "every recorded attestation judged again alike")
        #expect(report.refusalsRestingOnHistory == 0)

        let later = try TestPaths.temporaryDirectory("agreement-later").path + "/audit.tar.gz"
        _ = try AuditExporter.export(from: store, key: key, request: .init(from: AuditChain.timestamp(cut)), to: later)
        let laterReport = try AuditVerifier.verify(bundle: later, key: key.publicKey)
        #expect(laterReport.failures == [])
        #expect(laterReport.verdictsReproduced == recorded - recordedBeforeCut)
    }
}
