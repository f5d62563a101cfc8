@testable import Boot
import Testing

/// TFTP packets parse strictly and serialise back to the same bytes.
@Suite struct TFTPPacketTests {
    static let seventeenOptions: [UInt8] = {
        let options: [String] = (0..<17).map { index in "o\(index)\u{0}\(index)\u{0}" }
        return [0, 1] + Array(("a\u{0}octet\u{0}" + options.joined()).utf8)
    }()

    @Test func aReadRequestWithOptionsRoundTrips() throws {
        let bytes: [UInt8] = [0, 1] + Array("ipxe.efi\0octet\0blksize\01468\0tsize\00\0windowsize\08\0".utf8)
        let packet = try TFTPPacket.parse(ArraySlice(bytes))
        #expect(
            packet
                == .readRequest(
                    file: "ipxe.efi", mode: "octet",
                    options: [
                        TFTPOption(name: "blksize", value: "1468"), TFTPOption(name: "tsize", value: "0"),
                        TFTPOption(name: "windowsize", value: "8"),
                    ]))
        #expect(packet.bytes == bytes)
        #expect(
            try TFTPPacket.parse(ArraySlice([0, 1] + Array("a\0OCTET\0BLKSIZE\0512\0".utf8)))
                == .readRequest(file: "a", mode: "octet", options: [TFTPOption(name: "blksize", value: "512")]))
    }

    static func request(_ text: String) -> [UInt8] { [0, 1] + Array(text.utf8) }

    static let malformed: [(String, [UInt8])] = {
        var cases: [(String, [UInt8])] = []
        cases.append(("short", [0, 4, 0]))
        cases.append(("unknown opcode", [0, 9, 0, 0]))
        cases.append(("unterminated file name", request("ipxe.efi")))
        cases.append(("no mode", request("ipxe.efi\u{0}")))
        cases.append(("mail mode", request("ipxe.efi\u{0}mail\u{0}")))
        cases.append(("empty name", request("\u{0}octet\u{0}")))
        cases.append(("odd option", request("a\u{0}octet\u{0}blksize\u{0}")))
        cases.append(("repeated option", request("a\u{0}octet\u{0}tsize\u{0}0\u{0}TSIZE\u{0}0\u{0}")))
        cases.append(("control byte", request("a\u{1}b\u{0}octet\u{0}")))
        cases.append(("high byte", request("\u{e9}\u{0}octet\u{0}")))
        cases.append(("long ack", [0, 4, 0, 1, 0]))
        cases.append(("oversized request", request(String(repeating: "a", count: 1_100) + "\u{0}octet\u{0}")))
        cases.append(("too many options", seventeenOptions))
        return cases
    }()

    @Test(arguments: malformed)
    func malformedPacketsAreRefused(_ name: String, _ bytes: [UInt8]) {
        #expect(throws: TFTPPacketError.self, "\(name)") { try TFTPPacket.parse(ArraySlice(bytes)) }
    }

    @Test func randomBytesNeverCrashTheParser() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...64, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.count >= 2 { bytes[0] = 0; bytes[1] = UInt8.random(in: 0...7, using: &generator) }
            _ = try? TFTPPacket.parse(ArraySlice(bytes))
        }
    }

    @Test func optionsAreGrantedWithinLimits() {
        var limits = TFTPNegotiation.Limits()
        limits.maxWindowSize = 16
        let granted = TFTPNegotiation(
            requested: [
                TFTPOption(name: "blksize", value: "70000"), TFTPOption(name: "windowsize", value: "64"),
                TFTPOption(name: "tsize", value: "0"),
                TFTPOption(name: "timeout", value: "0"), TFTPOption(name: "multicast", value: ""),
                TFTPOption(name: "blksize2", value: "1"),
            ], fileSize: 1234, limits: limits)
        #expect(granted.blockSize == 512 && granted.windowSize == 16 && granted.timeoutSeconds == 2)
        #expect(
            granted.acknowledged == [
                TFTPOption(name: "windowsize", value: "16"), TFTPOption(name: "tsize", value: "1234"),
            ])
        let plain = TFTPNegotiation(requested: [], fileSize: 10)
        #expect(plain.acknowledged.isEmpty && plain.blockSize == 512 && plain.windowSize == 1)
        #expect(
            TFTPNegotiation(requested: [TFTPOption(name: "blksize", value: "+1468")], fileSize: 1).acknowledged.isEmpty)
    }
}
