import Attestation
import Foundation
import Store
import Testing
import TestSupport
import TPM
import WardenAPI
import WardenCrypto

/// Two appliances on one database, their calls started together from a barrier on separate
/// connections, round after round: what must hold across appliances holds.
@Suite(.postgresServer) struct ApplianceRaceTests {
    static let rounds = 100

    /// Two stores on one new database, sharing one key-encryption key, as two appliances do.
    private func twoAppliances(_ backend: StoreBackend, limits: EnrolmentStore.Limits = .init()) throws
        -> (EnrolmentStore, EnrolmentStore)
    {
        let folder = try TestPaths.temporaryDirectory("appliances")
        let key = try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path)
        let location = try backend.freshLocation(in: folder)
        return (
            try EnrolmentStore(location: location, key: key, appliance: "appliance-a", limits: limits),
            try EnrolmentStore(location: location, key: key, appliance: "appliance-b", limits: limits)
        )
    }

    /// On two appliances, and twice on one, where both uses may share one grouped commit.
    @Test(arguments: StoreBackend.allCases) func aNonceIsUsedOnce(backend: StoreBackend) async throws {
        let (a, b) = try twoAppliances(backend)
        let machine = try a.enroll(enrolment("node"), actor: "test")
        let key = try activatedKey(a, machineID: machine)
        for round in 0..<(2 * Self.rounds) {
            let nonce = try issued(a.issueNonce(attestationKeyID: key.id, proof: key.proof))
            let outcome = refusedOutcome(machine, key: key.id, nonce: nonce)
            let other = round < Self.rounds ? b : a
            let (first, second) = await race {
                try await a.record(outcome, actor: "appliance-a")
            } and: {
                try await other.record(outcome, actor: other.appliance ?? "")
            }
            let refusals = [first.storeError, second.storeError].compactMap { $0 }
            #expect(refusals == [.nonce("already used")], "round \(round): \(first), \(second)")
        }
        #expect(try a.attestations(machineID: machine, limit: 1_000).count == 2 * Self.rounds)
        try expectOneChain(b)
    }

    @Test(arguments: StoreBackend.allCases) func aFirstUsePinIsTakenOnce(backend: StoreBackend) async throws {
        let (a, b) = try twoAppliances(backend)
        for round in 0..<Self.rounds {
            let machine = try a.enroll(enrolment("node-\(round)"), actor: "test")
            let key = try activatedKey(a, machineID: machine)
            let judged = try [a, b].map { store in
                let nonce = try issued(store.issueNonce(attestationKeyID: key.id, proof: key.proof))
                let context = try #require(try store.attestationContext(attestationKeyID: key.id, nonce: nonce))
                #expect(context.policyName == nil)
                return AttestationOutcome(
                    machineID: machine, attestationKeyID: key.id, evidence: evidence(nonce), passed: true, reasons: [],
                    policyID: nil, clock: nil, inputs: context.judgementInputs(image: nil))
            }
            let pin = PolicyPin(name: "machine-node-\(round)", yaml: "pcrs: {}\n")
            let (first, second) = await race {
                try await a.record(judged[0], pinning: pin, actor: "appliance-a")
            } and: {
                try await b.record(judged[1], pinning: pin, actor: "appliance-b")
            }
            let refusals = [first.storeError, second.storeError].compactMap { $0 }
            #expect(
                refusals == [.stale("machine node-\(round) changed while its attestation was judged")],
                "round \(round): \(first), \(second)")
            let pins = try a.auditRecords(subjectPrefix: "machine/\(machine)").filter { $0.action == "policy-pinned" }
            #expect(pins.count == 1, "round \(round): pinned \(pins.count) times")
        }
        try expectOneChain(a)
    }

    @Test(arguments: StoreBackend.allCases) func approvalRevocationAndAdoptionFollowTheLifecycle(backend: StoreBackend)
        async throws
    {
        let (a, b) = try twoAppliances(backend)
        for round in 0..<Self.rounds {
            let name = "node-\(round)"
            let machine = try a.enroll(enrolment(name), actor: "test")
            let (approval, revocation) = await race {
                try a.approve(
                    PolicyPin(name: "machine-\(name)", yaml: "pcrs: {}\n"), machineID: machine, actor: "operator/a",
                    reason: "approved")
            } and: {
                try b.revoke(machineNamed: name, actor: "operator/b")
            }
            #expect(revocation.succeeded, "round \(round): the revocation failed: \(revocation)")
            if !approval.succeeded {
                #expect(
                    approval.storeError == .lifecycle(machine: name, state: .revoked, event: .approve),
                    "round \(round): \(approval)")
            }
            let actions = try a.auditRecords(subjectPrefix: "machine/\(machine)").map(\.action)
            #expect(
                actions.firstIndex(of: "revocation").map { !actions[$0...].contains("policy-pinned") } == true,
                "round \(round): approved after its revocation: \(actions)")
            #expect(try b.machine(named: name).state == .revoked)

            let discovered = try a.discover(
                ekPublic: [1], ekName: [0, 0x0b] + Array("seen-\(round)".utf8), ekCertificate: nil)
            let seenName = try a.machines().first { $0.id == discovered.id }?.name ?? ""
            let (adoption, forgetting) = await race {
                try a.adopt(
                    discoveredID: discovered.id,
                    as: MachineEnrolment(name: "adopted-\(round)", ekPublic: [1], ekName: [1]), actor: "operator/a")
            } and: {
                try b.forget(discoveredMachineNamed: seenName, actor: "operator/b")
            }
            #expect(
                [adoption.succeeded, forgetting.succeeded].filter { $0 }.count == 1,
                "round \(round): adopted and forgotten: \(adoption), \(forgetting)")
        }
        try expectOneChain(a)
    }

    @Test(arguments: StoreBackend.allCases) func theCapOnDiscoveredMachinesIsOneCap(backend: StoreBackend) async throws
    {
        var limits = EnrolmentStore.Limits()
        limits.maxDiscoveredMachines = 40
        let (a, b) = try twoAppliances(backend, limits: limits)
        @Sendable func discoverMany(_ store: EnrolmentStore, _ label: String) -> [Result<Void, any Error>] {
            (0..<Self.rounds).map { index in
                Result {
                    _ = try store.discover(
                        ekPublic: [1], ekName: [0, 0x0b] + Array("\(label)-\(index)".utf8), ekCertificate: nil)
                }
            }
        }
        let (fromA, fromB) = await race {
            discoverMany(a, "a")
        } and: {
            discoverMany(b, "b")
        }
        let outcomes = (try fromA.get()) + (try fromB.get())
        #expect(outcomes.filter(\.succeeded).count == limits.maxDiscoveredMachines)
        #expect(
            outcomes.allSatisfy {
                if case .limit = $0.storeError { return true }
                return $0.succeeded
            })
        #expect(try a.machines().filter { $0.state == .discovered }.count == limits.maxDiscoveredMachines)
        try expectOneChain(b)
    }

    /// An attestation judged and recorded on one appliance while a revocation commits on
    /// another: whatever state its nonce, its judgement and its record each read, it is
    /// released before the revocation's record or not at all.
    @Test(arguments: StoreBackend.allCases) func aReleaseRacingARevocationComesBeforeItOrNotAtAll(
        backend: StoreBackend
    ) async throws {
        let (a, b) = try twoAppliances(backend)
        for round in 0..<Self.rounds {
            let name = "node-\(round)"
            let machine = try a.enroll(enrolment(name), actor: "test")
            let key = try activatedKey(a, machineID: machine)
            let (released, revocation) = await race { () async throws -> RecordedAttestation? in
                guard case .issued(let nonce) = try a.issueNonce(attestationKeyID: key.id, proof: key.proof) else {
                    return nil
                }
                let context = try #require(try a.attestationContext(attestationKeyID: key.id, nonce: nonce))
                return try await a.record(
                    AttestationOutcome(
                        machineID: machine, attestationKeyID: key.id, evidence: evidence(nonce), passed: true,
                        reasons: [], policyID: nil, clock: nil, inputs: context.judgementInputs(image: nil)),
                    actor: "appliance-a")
            } and: {
                try b.revoke(machineNamed: name, actor: "operator/b")
            }
            #expect(revocation.succeeded, "round \(round): \(revocation)")
            let actions = try a.auditRecords(subjectPrefix: "machine/\(machine)")
                .filter { $0.subject == "machine/\(machine)" || $0.subject.hasPrefix("machine/\(machine)/") }
                .map(\.action)
            switch released {
            case .success(let recorded?):
                #expect(recorded.release != nil, "round \(round)")
                #expect(
                    actions.firstIndex(of: "release").map { $0 < (actions.firstIndex(of: "revocation") ?? -1) }
                        == true,
                    "round \(round): released after the revocation: \(actions)")
            case .success(nil):
                #expect(!actions.contains("release"), "round \(round): \(actions)")
            case .failure(let error):
                let refusedAsRevoked =
                    switch error as? StoreError {
                    case .stale?, .lifecycle?: true
                    default: false
                    }
                #expect(refusedAsRevoked, "round \(round): \(error)")
                #expect(!actions.contains("release"), "round \(round): \(actions)")
            }
        }
        try expectOneChain(a)
    }

    /// Writes grouped into one commit: each that fails undoes only itself.
    @Test(arguments: StoreBackend.allCases) func aFailingWriteInABatchUndoesOnlyItself(backend: StoreBackend) throws {
        let (a, _) = try twoAppliances(backend)
        let outcomes = (0..<40).map { _ in Outcome() }
        DispatchQueue.concurrentPerform(iterations: outcomes.count) { index in
            // Every other write enrols a name another write takes too: one of each pair fails.
            outcomes[index].result = Result { try a.enroll(enrolment("node-\(index / 2)"), actor: "test") }
        }
        #expect(outcomes.filter { $0.result?.succeeded == true }.count == 20)
        #expect(try a.machines().map(\.name).sorted() == (0..<20).map { "node-\($0)" }.sorted())
        #expect(try a.auditRecords(subjectPrefix: "machine/").count == 20)
        try expectOneChain(a)
    }

    // MARK: - Helpers

    /// Runs `first` and `second` on two threads that start together from a barrier; a write
    /// that awaits its commit is awaited there, in a task of its own.
    private func race<A: Sendable, B: Sendable>(
        _ first: @escaping @Sendable () async throws -> A, and second: @escaping @Sendable () async throws -> B
    ) async -> (Result<A, any Error>, Result<B, any Error>) {
        let barrier = StartingLine(runners: 2)
        let results = Outcomes<A, B>()
        let done = DispatchGroup()
        done.enter()
        done.enter()
        Thread.detachNewThread { [done] in
            barrier.arriveAndWait()
            results.first = Self.outcome(of: first)
            done.leave()
        }
        Thread.detachNewThread { [done] in
            barrier.arriveAndWait()
            results.second = Self.outcome(of: second)
            done.leave()
        }
        await withCheckedContinuation { finished in done.notify(queue: .global()) { finished.resume() } }
        return (results.first!, results.second!)
    }

    /// What `body` gave, waited for on this thread (never one of the cooperative pool's): it
    /// runs on a queue of its own, so that two runners run at once whatever the cooperative
    /// pool is busy with.
    private static func outcome<T: Sendable>(of body: @escaping @Sendable () async throws -> T) -> Result<T, any Error>
    {
        let outcome = Outcomes<T, Void>()
        let finished = DispatchSemaphore(value: 0)
        Task(executorPreference: OwnQueue()) {
            do { outcome.first = .success(try await body()) } catch { outcome.first = .failure(error) }
            finished.signal()
        }
        finished.wait()
        return outcome.first!
    }

    /// The whole audit chain: sequences from 1 with no gap, each record linked to the one before.
    private func expectOneChain(_ store: EnrolmentStore) throws {
        let records = try store.auditRecords(subjectPrefix: "")
        #expect(records.map(\.sequence) == Array(1...Int64(records.count)))
        #expect(records.first?.previousHash == AuditChain.genesis)
        #expect(zip(records, records.dropFirst()).allSatisfy { $1.previousHash == $0.hash })
        #expect(records.allSatisfy { AuditChain.hash(of: $0) == $0.hash })
        #expect(records.allSatisfy { ["appliance-a", "appliance-b"].contains($0.appliance) })
    }

    private func enrolment(_ name: String) -> MachineEnrolment {
        MachineEnrolment(name: name, ekPublic: [1], ekName: [0, 0x0b] + Array(name.utf8))
    }

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

    private func evidence(_ nonce: [UInt8]) -> Evidence {
        Evidence(attestationKey: [], attest: [], signature: [], pcrs: [], nonce: nonce)
    }

    private func refusedOutcome(_ machine: Int64, key: Int64, nonce: [UInt8]) -> AttestationOutcome {
        AttestationOutcome(
            machineID: machine, attestationKeyID: key, evidence: evidence(nonce), passed: false, reasons: ["test"],
            policyID: nil, clock: nil)
    }
}

/// A task executor with a serial queue of its own: a task that prefers it runs there.
private final class OwnQueue: TaskExecutor {
    private let queue = DispatchQueue(label: "warden.test.race-runner")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// A barrier: each runner waits until all have arrived.
private final class StartingLine: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0
    private let runners: Int

    init(runners: Int) { self.runners = runners }

    func arriveAndWait() {
        condition.lock()
        arrived += 1
        condition.broadcast()
        while arrived < runners { condition.wait() }
        condition.unlock()
    }
}

/// One concurrent write's result, written by its own thread and read after all finished.
private final class Outcome: @unchecked Sendable {
    var result: Result<Int64, any Error>?
}

/// The two runners' results, each written by its own thread and read after both finished (or
/// one result, written by a task and read after it finished).
private final class Outcomes<A, B>: @unchecked Sendable {
    var first: Result<A, any Error>?
    var second: Result<B, any Error>?
}

extension Result where Failure == any Error {
    /// The store's error, when it failed with one.
    fileprivate var storeError: StoreError? {
        guard case .failure(let error) = self else { return nil }
        return error as? StoreError
    }

    fileprivate var succeeded: Bool { (try? get()) != nil }
}
