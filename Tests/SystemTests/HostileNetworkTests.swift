import Foundation
import Testing
import TestSupport

/// The bounds an anonymous client meets on a real `warden serve`, one by one; the
/// adversarial suite (`Tests/Adversary`, run by `make test` and `make adversary`) holds them at scale.
@Suite struct HostileNetworkTests {
    /// One address holds at most its share of the HTTPS API's connections, and a connection
    /// that never starts TLS is cut off at the handshake deadline; another client is served
    /// throughout. The deadline is 5 s: the four must still be open after the fifth is cut
    /// and the CLI's own handshake done, however loaded the machine.
    @Test func silentConnectionsAreBoundedPerSourceAndCutOff() throws {
        let server = try WardenServerProcess(environment: [
            "WARDEN_API_MAX_CONNECTIONS_PER_SOURCE": "4", "WARDEN_API_HANDSHAKE_TIMEOUT": "5",
        ])
        let held = try (0..<4).map { _ in try OpenConnection(port: server.port, from: "127.0.0.2") }
        usleep(300_000)
        let fifth = try OpenConnection(port: server.port, from: "127.0.0.2")
        #expect(fifth.closedByPeer(within: 4), "a fifth connection from one address is closed at once")
        #expect(held.allSatisfy { !$0.isClosedByPeer() }, "the four are held until their deadline")
        try expectSuccess(server.cli(["machine", "list"]))
        #expect(held.allSatisfy { $0.closedByPeer(within: 10) }, "the handshake deadline passed")
    }

    /// An address that reconnects faster than its pace (here four at once, then one every
    /// 4 s) has each new connection wait for its turn: served, not refused, and no sooner
    /// than its turn, whatever the machine's load; what a half-closed one sent before its
    /// turn goes unanswered. One whose turn is further away than the handshake deadline
    /// (5 s) is closed at once; the one queued before it waits, and its handshake deadline
    /// runs from its turn.
    @Test func newConnectionsFromOneAddressComeAtItsPace() throws {
        let server = try WardenServerProcess(environment: [
            "WARDEN_API_MAX_CONNECTIONS_PER_SOURCE": "4", "WARDEN_API_HANDSHAKES_PER_SECOND_PER_SOURCE": "0.25",
            "WARDEN_API_HANDSHAKE_TIMEOUT": "5",
        ])
        let start = Date()
        let statuses = try (0..<5).map { _ in
            try Command.run(
                "curl",
                [
                    "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.2", "--cacert",
                    server.serverCA, server.url + "/healthz",
                ]
            ).stdout
        }
        #expect(statuses == Array(repeating: "200", count: 5))
        #expect(Date().timeIntervalSince(start) >= 4, "the fifth waited for its turn, 4 s after the first")
        // The sixth, about 4 s away, sends its ClientHello and ends its stream: the server reads
        // a half-closed socket out unasked, and drops it unanswered (a fresh address is answered).
        let hello = TestPaths.packageRoot.appendingPathComponent("Tests/Scripts/half-closed-hello.py").path
        for (source, answered) in [("127.0.0.2", false), ("127.0.0.4", true)] {
            let bytes = try Command.run("python3", [hello, String(server.port), source, server.serverCA])
            #expect(((Int(bytes.stdout) ?? -1) > 0) == answered, "\(source): \(bytes.stdout) \(bytes.stderr)")
        }

        // Another address: four turns taken at once, then the fifth is 4 s away, the sixth 8 s.
        for _ in 0..<4 { try OpenConnection(port: server.port, from: "127.0.0.3").close() }
        let taken = Date()
        usleep(300_000)  // the four have left their places
        let queued = try OpenConnection(port: server.port, from: "127.0.0.3")
        usleep(500_000)
        let tooLate = try OpenConnection(port: server.port, from: "127.0.0.3")
        #expect(tooLate.closedByPeer(within: 3), "its turn, about 7 s away, is beyond the 5 s handshake deadline")
        // The queued one's handshake deadline runs from its turn (4 s in), not from its arrival.
        usleep(useconds_t(max(0, 6 - Date().timeIntervalSince(taken)) * 1_000_000))
        #expect(!queued.isClosedByPeer(), "6 s in, its handshake has had 2 of its 5 s")
        #expect(queued.closedByPeer(within: 8), "it is cut off when that deadline passes")
        try expectSuccess(server.cli(["machine", "list"]))
    }

    /// A discovered machine can be forgotten by an operator; an enrolled one cannot. New
    /// machines from one address come at the configured pace.
    @Test func discoveriesComeAtAPaceAndCanBeForgotten() throws {
        let boot = try BootScriptTests.BootRig(environment: ["WARDEN_DISCOVERIES_PER_MINUTE_PER_SOURCE": "3"])
        for index in 0..<5 { _ = try boot.script(mac: String(format: "02:00:00:00:00:%02x", index)) }
        let names = try boot.rig.store.machines().map(\.name)
        #expect(names == ["boot-020000000000", "boot-020000000001", "boot-020000000002"], "\(names)")
        #expect(try boot.script(mac: "02:00:00:00:00:09").contains("too many new machines came from this address"))
        try expectSuccess(boot.rig.server.cli(["machine", "forget", "boot-020000000001"]))
        #expect(try boot.rig.store.machines().map(\.name) == ["boot-020000000000", "boot-020000000002"])
        #expect(try boot.rig.server.cli(["machine", "forget", "nobody"]).status == 1)
    }

    /// Every operator certificate revoked, the local one too: root on the appliance issues
    /// the local identity anew, recorded and audited, and the running server takes it.
    @Test func rootOnTheApplianceRecoversTheOperatorIdentity() throws {
        let server = try WardenServerProcess()
        try expectSuccess(server.cli(["operator", "revoke", "operator"]))
        let locked = try server.cli(["machine", "list"])
        #expect(locked.status == 1 && locked.stderr.contains("revoked"), "\(locked.stderr)")
        try expectSuccess(
            Command.run(TestPaths.wardenBinary.path, ["operator", "recover", "--state-dir", server.stateDir.path]))
        try expectSuccess(server.cli(["machine", "list"]))
        let listed = try server.cli(["operator", "list", "--format", "json"])
        let certificates = try #require(
            try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        let local = certificates.filter { $0["name"] as? String == "operator" }
        #expect(local.count == 2 && local.filter { $0["revokedAt"] is String }.count == 1, "\(listed.stdout)")
        let store = try EnrolmentStoreReader.open(server.stateDir)
        #expect(
            try store.auditRecords(subjectPrefix: "operator/operator").last?.actor
                == "system (recovery by root on the appliance)")
    }

    /// SIGTERM stops every service in turn — TFTP releases its own event loop only after its
    /// listener has closed — and the server says so, within the five seconds `stop` allows
    /// before it kills.
    @Test func sigtermStopsEveryServiceGracefully() throws {
        let server = try WardenServerProcess(environment: [
            "WARDEN_FIRMWARE": TestPaths.packageRoot.appendingPathComponent("Firmware/firmware.yaml").path
        ])
        server.stop(signal: SIGTERM)
        let log = try String(contentsOf: server.log, encoding: .utf8)
        #expect(log.contains("msg=stopped") && !log.contains("Cannot schedule tasks"), "\(log.suffix(1_000))")
        let store = try EnrolmentStoreReader.open(server.stateDir)
        #expect(try store.auditRecords(subjectPrefix: "server").last?.details == "stopped gracefully")
    }

    private func expectSuccess(_ result: CommandResult) throws {
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
