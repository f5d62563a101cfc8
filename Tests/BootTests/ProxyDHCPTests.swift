@testable import Boot
import Foundation
import NIOCore
import Testing
import TestSupport

/// ProxyDHCP on loopback ports, asked by an independent PXE client (Python's struct and
/// socket, `Tests/Scripts/pxe-dhcp-client.py`) as a PXE ROM, iPXE and UEFI HTTP Boot ask.
@Suite(.dedicatedThread) struct ProxyDHCPTests {
    static let settings: ProxyDHCPResponder.Settings = {
        var settings = ProxyDHCPResponder.Settings(serverAddress: [127, 0, 0, 1], httpBase: "http://127.0.0.1:8080")
        settings.arm64File = "arm64/ipxe.efi"
        return settings
    }()

    struct Rig {
        let server: ProxyDHCPServer

        init(settings: ProxyDHCPResponder.Settings = ProxyDHCPTests.settings) async throws {
            server = try await ProxyDHCPServer.start(
                host: "127.0.0.1", dhcpPort: 0, bootServerPort: 0, responder: ProxyDHCPResponder(settings: settings))
        }

        /// The client's view of the reply, or nil when there was none.
        func ask(_ type: String, arch: Int, bootServer: Bool = false, _ extra: [String] = []) throws -> [String: Any]? {
            let port = bootServer ? server.ports.bootServer : server.ports.dhcp
            let result = try Command.run(
                "python3",
                [TestPaths.scripts.appendingPathComponent("pxe-dhcp-client.py").path, String(port), type, String(arch)]
                    + extra)
            guard result.status == 0,
                let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            else {
                throw CommandFailure("pxe-dhcp-client: \(result.stderr)")
            }
            return json["reply"] as? [String: Any]
        }
    }

    @Test(arguments: [(0, "undionly.kpxe"), (7, "ipxe.efi"), (9, "ipxe.efi"), (11, "arm64/ipxe.efi")])
    func aPXEROMGetsTheMenuThenItsFileAtTheBootServerPort(arch: Int, file: String) async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let offer = try #require(
            try rig.ask("discover", arch: arch, ["--vendor", "PXEClient:Arch:0000\(arch):UNDI:002001", "--uuid"]))
        #expect(
            offer["type"] as? Int == 2 && offer["yiaddr"] as? String == "0.0.0.0",
            "a ProxyDHCP offer never offers an address")
        #expect(offer["xidMatches"] as? Bool == true && offer["chaddr"] as? String == "525400123456")
        #expect(
            offer["serverID"] as? String == "127.0.0.1" && offer["siaddr"] as? String == "127.0.0.1"
                && offer["vendorClass"] as? String == "PXEClient")
        #expect(offer["uuid"] as? String == "00" + (0..<16).map { String(format: "%02x", $0) }.joined())
        let menu = try #require(offer["vendorOptions"] as? [String: String])
        #expect(
            menu["6"] == "07" && menu["8"] == "8000017f000001" && menu["9"]?.hasPrefix("8000") == true
                && menu["10"] != nil, "\(menu)")
        #expect(offer["file"] as? String == "")

        let ack = try #require(
            try rig.ask(
                "request", arch: arch, bootServer: true,
                ["--vendor", "PXEClient:Arch:0000\(arch)", "--boot-item", "80000000"]))
        #expect(ack["type"] as? Int == 5 && ack["file"] as? String == file && ack["siaddr"] as? String == "127.0.0.1")
        #expect((ack["vendorOptions"] as? [String: String])?["71"] == "80000000")
    }

    @Test func iPXEGetsItsScriptURLDirectlyOnUEFIAndThroughTheMenuOnBIOS() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let uefi = try #require(
            try rig.ask("discover", arch: 7, ["--vendor", "PXEClient:Arch:00007:UNDI:003016", "--user-class", "iPXE"]))
        #expect(
            uefi["file"] as? String == "http://127.0.0.1:8080/boot.ipxe"
                && (uefi["vendorOptions"] as? [String: String])?.isEmpty == true)
        let bios = try #require(
            try rig.ask("discover", arch: 0, ["--vendor", "PXEClient:Arch:00000:UNDI:002001", "--user-class", "iPXE"]))
        #expect(bios["file"] as? String == "" && (bios["vendorOptions"] as? [String: String])?["6"] == "07")
        let item = try #require(
            try rig.ask(
                "request", arch: 0, bootServer: true,
                ["--vendor", "PXEClient", "--user-class", "iPXE", "--boot-item", "80000000"]))
        #expect(item["file"] as? String == "http://127.0.0.1:8080/boot.ipxe")
    }

    @Test func aUEFIHTTPBootClientGetsAnHTTPURLWithItsVendorClassEchoed() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let offer = try #require(try rig.ask("discover", arch: 16, ["--vendor", "HTTPClient:Arch:00016:UNDI:003001"]))
        #expect(
            offer["file"] as? String == "http://127.0.0.1:8080/ipxe.efi"
                && offer["vendorClass"] as? String == "HTTPClient")
    }

    @Test func everyoneElseGetsSilence() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        var withoutARM64 = ProxyDHCPTests.settings
        withoutARM64.arm64File = nil
        let plain = try await Rig(settings: withoutARM64)
        defer { Task { await plain.server.stop() } }
        #expect(try rig.ask("discover", arch: 0) == nil, "no option 60: an ordinary DHCP client")
        #expect(try rig.ask("discover", arch: 0, ["--vendor", "MSFT 5.0"]) == nil)
        #expect(
            try rig.ask("discover", arch: 99, ["--vendor", "PXEClient"]) == nil,
            "an architecture Warden has no file for")
        #expect(
            try plain.ask("discover", arch: 11, ["--vendor", "PXEClient"]) == nil, "ARM64 without a configured file")
        #expect(
            try rig.ask("request", arch: 7, ["--vendor", "PXEClient", "--server-id", "10.0.0.1"]) == nil,
            "a REQUEST for the site's DHCP server")
        #expect(
            try rig.ask("discover", arch: 7, bootServer: true, ["--vendor", "PXEClient"]) == nil,
            "DISCOVER on the boot-server port")
        #expect(try rig.ask("discover", arch: 0, ["--raw", "0101060000"]) == nil, "a truncated packet")
        let counters = rig.server.counters
        #expect(counters.answered == 0 && counters.malformed == 1 && counters.ignored == 5, "\(counters)")
    }

    /// A port already held is refused, not shared: a second server would take part of the
    /// traffic without a word. (Port 0 relies on this too: the kernel never hands out a port
    /// another listener holds.)
    @Test func aSecondServerOnTheSamePortFailsToStart() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        await #expect(throws: DatagramSocketError.self) {
            let second = try await ProxyDHCPServer.start(
                host: "127.0.0.1", dhcpPort: rig.server.ports.dhcp, bootServerPort: 0,
                responder: ProxyDHCPResponder(settings: ProxyDHCPTests.settings))
            await second.stop()
        }
    }

    /// Answers to a relay go to its address at the server port the request came to, never
    /// back to the port the request claims to come from.
    @Test func relayedAnswersGoToTheRelaysServerPort() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let offer = try #require(
            try rig.ask(
                "discover", arch: 7,
                ["--vendor", "PXEClient:Arch:00007:UNDI:003016", "--user-class", "iPXE", "--relay", "127.0.0.3"]))
        #expect(offer["file"] as? String == "http://127.0.0.1:8080/boot.ipxe")
    }

    /// Destinations a packet can name but no datagram can reach make `sendto` fail, and
    /// SwiftNIO closes a datagram channel on such a failure: each is one answer not sent,
    /// counted, and the listener goes on answering.
    @Test func answersToImpossibleAddressesAreDroppedAndTheListenerLives() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        for relay in ["0.0.0.1", "240.0.0.1", "224.0.0.1", "255.255.255.255"] {
            #expect(
                try rig.ask("discover", arch: 7, ["--vendor", "PXEClient", "--user-class", "iPXE", "--relay", relay])
                    == nil, "relay \(relay)")
        }
        #expect(rig.server.counters.undeliverable == 4, "\(rig.server.counters)")
        #expect(
            try rig.ask("discover", arch: 7, ["--vendor", "PXEClient", "--user-class", "iPXE"]) != nil,
            "the listener stopped answering")
    }

    @Test(arguments: [("0.0.0.1", 67), ("240.0.0.1", 67), ("127.0.0.1", 0), ("224.0.0.251", 5353)])
    func noDatagramGoesWhereNoneCanArrive(address: String, port: Int) throws {
        #expect(DatagramDestination.problem(try SocketAddress(ipAddress: address, port: port)) != nil)
    }

    @Test func ordinaryDestinationsAreAllowed() throws {
        #expect(DatagramDestination.problem(try SocketAddress(ipAddress: "10.213.0.20", port: 68)) == nil)
        #expect(DatagramDestination.problem(try SocketAddress(ipAddress: "127.0.0.1", port: 4011)) == nil)
        // A client without an address is answered by broadcast, to the DHCP client port.
        let request = try DHCPPacket.parse(ArraySlice(DHCPPacketTests().discover([(53, [1])])))
        guard
            case .success(let found) = ProxyDHCPDestination.of(
                request, from: try SocketAddress(ipAddress: "0.0.0.0", port: 9999), serverPort: 67)
        else {
            Issue.record("no destination")
            return
        }
        #expect(found.broadcast && found.address.port == 68)
    }
}

/// DHCP messages parse strictly, options from every field that holds them.
@Suite struct DHCPPacketTests {
    func discover(_ options: [(UInt8, [UInt8])], file: [UInt8] = [], sname: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = [1, 1, 6, 0, 1, 2, 3, 4, 0, 0, 0x80, 0] + [UInt8](repeating: 0, count: 16)
        bytes += [0x52, 0x54, 0, 0x12, 0x34, 0x56] + [UInt8](repeating: 0, count: 10)
        bytes +=
            sname + [UInt8](repeating: 0, count: 64 - sname.count) + file
            + [UInt8](repeating: 0, count: 128 - file.count)
        return bytes + [99, 130, 83, 99] + options.flatMap { [$0.0, UInt8($0.1.count)] + $0.1 } + [255]
    }

    @Test func aMessageRoundTripsAndLongOptionsConcatenate() throws {
        let packet = try DHCPPacket.parse(
            ArraySlice(discover([(53, [1]), (60, Array("PXEClient".utf8)), (60, Array(":Arch:00007".utf8))])))
        #expect(packet.option(60) == Array("PXEClient:Arch:00007".utf8))
        #expect(
            packet.transactionID == 0x0102_0304 && packet.flags == 0x8000
                && packet.clientHardwareAddress.prefix(6) == [0x52, 0x54, 0, 0x12, 0x34, 0x56])
        #expect(try DHCPPacket.parse(ArraySlice(packet.bytes)) == packet)
    }

    @Test func overloadedFieldsCarryOptions() throws {
        let packet = try DHCPPacket.parse(
            ArraySlice(
                discover(
                    [(53, [1]), (52, [3])], file: [60, 3] + Array("PXE".utf8) + [255], sname: [93, 2, 0, 7, 255])))
        #expect(packet.option(60) == Array("PXE".utf8) && packet.option(93) == [0, 7] && packet.bootFile.isEmpty)
    }

    @Test func malformedMessagesAreRefused() {
        let valid = discover([(53, [1])])
        var noCookie = valid
        noCookie[236] = 0
        var pastTheEnd = Array(valid.dropLast())
        pastTheEnd += [60, 40, 1]
        let cases: [(String, [UInt8])] = [
            ("short", Array(valid.prefix(200))), ("no cookie", noCookie), ("option past the end", pastTheEnd),
            ("no end option", Array(valid.dropLast())), ("no message type", discover([(60, [1])])),
            ("bad overload", discover([(53, [1]), (52, [9])])),
            ("oversized", valid + [UInt8](repeating: 0, count: 1_400)),
            (
                "too many option bytes",
                discover([(53, [1])] + (0..<6).map { _ in (UInt8(224), [UInt8](repeating: 1, count: 210)) })
            ),
        ]
        for (name, bytes) in cases {
            #expect(throws: DHCPPacketError.self, "\(name)") { try DHCPPacket.parse(ArraySlice(bytes)) }
        }
    }

    @Test func randomBytesNeverCrashTheParser() {
        let valid = discover([(53, [1]), (60, Array("PXEClient".utf8)), (93, [0, 7])])
        for _ in 0..<5_000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...8) { bytes[Int.random(in: 0..<bytes.count)] = UInt8.random(in: 0...255) }
            if let packet = try? DHCPPacket.parse(ArraySlice(bytes)) {
                _ = ProxyDHCPResponder(settings: ProxyDHCPTests.settings).decide(packet, on: .dhcp)
            }
        }
    }
}

/// Inputs the fuzzer found, kept as regressions.
@Suite struct DHCPFuzzRegressionTests {
    /// An overloaded `file` field that itself holds option 52 (which RFC 2132 allows only in
    /// the options field): concatenated, the overload value grew and no longer parsed.
    static let overloadedFile =
        "AQEGAAECAwQAAIAAAAAAAAAAAAAAAAAAAAAjUgBUABI0VgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAgMEAACAAAAAAAAAAAAAAAAAAAAjAABSVAASNFYAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADwJUAAAAAAAAAAAAAA7AABjglNjNQEBNAEB/w=="

    @Test func anOverloadOptionInsideAnOverloadedFieldIsRefused() throws {
        let bytes = [UInt8](try #require(Data(base64Encoded: Self.overloadedFile)))
        #expect(throws: DHCPPacketError("option 52 (overload) inside an overloaded field")) {
            try DHCPPacket.parse(ArraySlice(bytes))
        }
    }
}
