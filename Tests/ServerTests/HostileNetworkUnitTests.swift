import Boot
import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle
import Logging
@testable import Server
import Store
import Synchronization
import Testing
import TestSupport
import WardenCrypto

/// What keeps anonymous requests from silencing a listener or growing the audit log.
@Suite struct HostileNetworkUnitTests {
    /// A listener that can be made to close by itself.
    final class FakeListener: BootListener {
        let channel: any Channel
        let stopped = Flag()
        init(channel: any Channel) { self.channel = channel }
        var listenerClosed: EventLoopFuture<Void> { channel.closeFuture }
        func closeListeners() { channel.close(promise: nil) }
        func stop() async {
            stopped.set()
            try? await channel.close()
        }
    }

    /// A UDP channel on a free loopback port, to stand for a listener.
    static func channel() async throws -> any Channel {
        try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    }

    @Test func aListenerThatClosesByItselfEndsTheGroupWithAnError() async throws {
        let listener = FakeListener(channel: try await Self.channel())
        let group = ServiceGroup(
            configuration: .init(
                services: [BootListenerService("test listener on 127.0.0.1", listener)], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(100))
        try await listener.channel.close()
        await #expect(throws: ListenerClosed.self) { try await running.value }
    }

    @Test func aGracefulShutdownStopsTheListenerWithoutAnError() async throws {
        let listener = FakeListener(channel: try await Self.channel())
        let group = ServiceGroup(
            configuration: .init(
                services: [BootListenerService("test listener", listener)], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(100))
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(listener.stopped.isSet && !listener.channel.isActive)
    }

    func store() throws -> EnrolmentStore {
        let folder = try TestPaths.temporaryDirectory("refusals")
        return try EnrolmentStore(
            path: folder.appendingPathComponent("warden.sqlite").path,
            key: try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path))
    }

    /// A thousand refusals from a thousand addresses are two records: the first, and one
    /// summary that counts the rest and names a few sources; texts are cut short.
    @Test func aFloodOfRefusalsIsTwoRecordsPerInterval() throws {
        let store = try store()
        let audit = RefusalAudit(store: store, interval: 60)
        let start = Date()
        for index in 0..<1_000 {
            audit.refused(
                .adminUnauthenticated, actor: "anonymous", subject: "admin/" + String(repeating: "x", count: 80_000),
                details: "refused \(index)",
                source: "10.0.\(index / 250).\(index % 250)", now: start.addingTimeInterval(Double(index) / 100))
        }
        audit.flush(now: start.addingTimeInterval(30))
        #expect(try store.auditRecords(subjectPrefix: "").count == 1, "nothing is summarised before the interval ends")
        audit.flush(now: start.addingTimeInterval(61))
        let records = try store.auditRecords(subjectPrefix: "")
        #expect(records.count == 2)
        #expect(records[0].subject.count <= RefusalAudit.maxText + 1 && records[0].details == "refused 0")
        #expect(
            records[1].details.hasPrefix("999 more admin-unauthenticated request(s) in 61 s from ")
                && records[1].details.contains("and others"),
            "\(records[1].details)")
        // The window goes on while refusals do; once they stop, the next one is recorded at once.
        audit.flush(now: start.addingTimeInterval(200))
        audit.refused(
            .adminUnauthenticated, actor: "anonymous", subject: "admin/machines", details: "later", source: "10.9.9.9",
            now: start.addingTimeInterval(201))
        #expect(try store.auditRecords(subjectPrefix: "").last?.details == "later")
        #expect(try store.auditRecords(subjectPrefix: "").count == 3)
    }

    /// Refusals only the machine itself could cause are its own; anonymous ones are not
    /// multiplied by the machines an attacker names.
    @Test func refusalsAreBoundedByKindNotByWhatTheRequestNames() throws {
        let store = try store()
        let audit = RefusalAudit(store: store, interval: 60)
        for key in 0..<500 {
            audit.refused(
                .challenge, actor: "agent", subject: "attestation-key/\(key)", details: "challenge refused",
                source: "10.0.0.66")
        }
        audit.refused(
            .challenge, machineID: 7, actor: "agent", subject: "machine/7", details: "revoked", source: "10.0.0.7")
        audit.flush(all: true)
        #expect(
            try store.auditRecords(subjectPrefix: "").map(\.subject) == [
                "attestation-key/0", "machine/7", "refusals/challenge",
            ])
    }
}

/// What a request body or an export may take.
@Suite struct BudgetTests {
    /// Bodies share one budget; one address holds a quarter of it at most.
    @Test func bodiesShareOneBudgetAndOneSourceAQuarter() {
        let budget = BodyBudget(bytes: 4_000)
        #expect(budget.reserve(1_000, for: "a") && !budget.reserve(1, for: "a"), "a's quarter is spent")
        #expect(budget.reserve(1_000, for: "b") && budget.reserve(1_000, for: "c") && budget.reserve(1_000, for: "d"))
        #expect(!budget.reserve(1, for: "e"), "the whole budget is spent")
        budget.release(1_000, for: "a")
        #expect(budget.reserve(1_000, for: "e"))
    }

    @Test func exportsAreBoundedAndEachPlaceIsGivenBackOnce() throws {
        let gate = ExportGate(limit: 2)
        let first = try #require(gate.enter())
        _ = try #require(gate.enter())
        #expect(gate.enter() == nil)
        first.leave()
        first.leave()
        _ = try #require(gate.enter())
        #expect(gate.enter() == nil, "a place given back twice counts once")
    }
}

/// A flag set once, readable from any thread.
final class Flag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
