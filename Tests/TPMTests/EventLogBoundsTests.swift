import Testing
import TPM
import TPMSimulation
import TSS
import WardenCrypto

/// Bounds and structure checks on logs built here.
@Suite struct EventLogBoundsTests {
    @Test func logsOverOneMebibyteAreRefused() {
        var builder = EventLogBuilder(banks: [.sha256])
        while builder.log.count <= EventLog.maxSize {
            builder.measure(pcr: 8, type: .ipl, data: [UInt8](repeating: 0x41, count: 60_000))
        }
        #expect { try EventLog.parse(builder.log) } throws: {
            ($0 as? EventLogError)?.reason.contains("at most") == true
        }
    }

    @Test func moreThanTenThousandEventsAreRefused() throws {
        var builder = EventLogBuilder(banks: [.sha256])
        for _ in 0..<(EventLog.maxEvents - 1) { builder.measure(pcr: 8, type: .ipl, data: []) }
        #expect(try EventLog.parse(builder.log).events.count == EventLog.maxEvents)
        builder.measure(pcr: 8, type: .ipl, data: [])
        #expect { try EventLog.parse(builder.log) } throws: {
            ($0 as? EventLogError)?.reason.contains("more than") == true
        }
    }

    @Test func hugeDeclaredSizesAreCheckedBeforeUse() throws {
        var builder = EventLogBuilder(banks: [.sha256])
        builder.measure(pcr: 0, type: .separator, data: [0, 0, 0, 0])
        var bytes = builder.log
        let sizeOffset = bytes.count - 8  // the last event's u32 event size
        bytes.replaceSubrange(sizeOffset..<(sizeOffset + 4), with: [0xff, 0xff, 0xff, 0x7f])
        #expect { try EventLog.parse(bytes) } throws: {
            ($0 as? EventLogError)?.reason.contains("event data needs") == true
        }
    }

    @Test func undeclaredBanksAndOutOfRangePCRsAreRefused() throws {
        var sha1Only = EventLogBuilder(banks: [.sha1])
        sha1Only.measure(pcr: 24, type: .ipl, data: [])
        #expect { try EventLog.parse(sha1Only.log) } throws: {
            ($0 as? EventLogError)?.reason.contains("out of range") == true
        }

        var builder = EventLogBuilder(banks: [.sha256])
        builder.measure(pcr: 0, type: .separator, data: [0, 0, 0, 0])
        var bytes = builder.log
        let algorithmOffset = bytes.count - 4 - 4 - 32 - 2  // data, size, digest, then the algorithm ID
        bytes[algorithmOffset] = 0x0c  // sha384, not declared
        #expect { try EventLog.parse(bytes) } throws: { ($0 as? EventLogError)?.reason.contains("undeclared") == true }
    }

    @Test func startupLocalitySetsPCR0() throws {
        var builder = EventLogBuilder(banks: [.sha256])
        builder.append(
            pcr: 0, type: .noAction, digests: [[UInt8](repeating: 0, count: 32)],
            data: Array("StartupLocality".utf8) + [0, 3])
        builder.measure(pcr: 0, type: .sCRTMVersion, data: [1, 0])
        let log = try EventLog.parse(builder.log)
        #expect(log.startupLocality == 3)
        let initial = [UInt8](repeating: 0, count: 31) + [3]
        var hasher = Hasher(.sha256)
        hasher.update(initial)
        hasher.update(DigestAlgorithm.sha256.hash([1, 0]))
        #expect(log.replay().value(bank: .sha256, pcr: 0) == hasher.finalize())
    }

    @Test func sha1FormatLogsReplayTheSHA1Bank() throws {
        // TCG_PCClientPCREvent records: pcr, type, sha1 digest, size, data.
        func event(_ pcr: UInt32, _ type: EventType, _ data: [UInt8]) -> [UInt8] {
            le32(pcr) + le32(type.rawValue) + DigestAlgorithm.sha1.hash(data) + le32(UInt32(data.count)) + data
        }
        let bytes = event(0, .sCRTMVersion, [1, 0]) + event(0, .separator, [0, 0, 0, 0])
        let log = try EventLog.parse(bytes)
        #expect(log.format == .sha1 && log.banks.map(\.algorithm) == [.sha1])
        #expect(log.replay().value(bank: .sha1, pcr: 0)?.count == 20)
    }

    private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xff) } }
}
