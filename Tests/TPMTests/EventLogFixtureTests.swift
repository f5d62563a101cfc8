import Testing
import TestSupport
import TPM
import TSS

/// Interoperability with event logs captured on real machines by other projects.
@Suite(.enabled(if: TestPaths.hasEventLogFixtures, "../shared/fixtures is absent"))
struct EventLogFixtureTests {
    @Test func everyValidLogParsesAndEveryInvalidOneIsRefused() throws {
        let names = try EventLogFixtures.all()
        #expect(names.count >= 20)
        for name in names {
            let bytes = try EventLogFixtures.bytes(name)
            if EventLogFixtures.invalid.contains(name) {
                #expect(throws: EventLogError.self, "\(name) must be refused") { try EventLog.parse(bytes) }
            } else {
                let log = try EventLog.parse(bytes)
                #expect(log.measurements.count > 10, "\(name)")
                #expect(log.eventDataMismatches().isEmpty, "\(name): \(log.eventDataMismatches())")
            }
        }
    }

    /// The 14 go-tpm-tools logs replay to exactly what their machines' TPMs reported.
    @Test func replayMatchesRecordedPCRs() throws {
        let expected = try EventLogFixtures.expectedPCRs()
        #expect(expected.count == 14)
        for (name, banks) in expected {
            let replay = try EventLog.parse(EventLogFixtures.bytes(name)).replay().hexMap
            for (bank, pcrs) in banks {
                for (pcr, value) in pcrs {
                    #expect(replay[bank]?[pcr] == value, "\(name) \(bank) PCR \(pcr)")
                }
            }
        }
    }

    /// Logs whose PCR 0 tpm2_eventlog 5.4 gets wrong: the four SOURCES.md names (their
    /// recorded TPM values prove it), and keylime's, which starts with StartupLocality 3.
    static let tpm2EventlogPCR0Errors: Set<String> = [
        "go-tpm-tools--glinux-alex.bin", "go-tpm-tools--gdc-host.bin", "go-tpm-tools--eventlogwithsp800155.bin",
        "go-tpm-tools--confidential-gke-debug-251000_eventlog.bin", "keylime--binary_bios_measurements.bin",
    ]

    /// Warden agrees with tpm2_eventlog (tpm2-tools 5.4) on every PCR of every log that tool
    /// reads, except PCR 0 of the logs above.
    @Test func agreesWithTpm2Eventlog() throws {
        var compared = 0
        for name in try EventLogFixtures.all() where !EventLogFixtures.invalid.contains(name) {
            let ours = try EventLog.parse(EventLogFixtures.bytes(name)).replay().hexMap
            guard let theirs = try EventLogFixtures.tpm2EventlogPCRs(name) else { continue }
            compared += 1
            #expect(Set(ours.keys).isSuperset(of: theirs.keys), "\(name)")
            for (bank, pcrs) in theirs {
                for (pcr, value) in pcrs where !(pcr == "0" && Self.tpm2EventlogPCR0Errors.contains(name)) {
                    #expect(ours[bank]?[pcr] == value, "\(name) \(bank) PCR \(pcr)")
                }
                if Self.tpm2EventlogPCR0Errors.contains(name) {
                    #expect(ours[bank]?["0"] != pcrs["0"], "\(name): tpm2_eventlog's PCR 0 was expected to be wrong")
                }
            }
        }
        #expect(compared >= 20)
    }

    @Test func truncatedRealLogsNameTheProblem() throws {
        let bogus = try EventLogFixtures.bytes("keylime--binary_bios_measurements-bogus.bin")
        #expect { try EventLog.parse(bogus) } throws: { error in
            (error as? EventLogError)?.reason.contains("needs") == true
        }
        let short = try EventLogFixtures.bytes("go-attestation--short_no_action_eventlog.bin")
        #expect { try EventLog.parse(short) } throws: { error in
            (error as? EventLogError)?.reason.contains("EV_NO_ACTION") == true
        }
    }

    /// Cutting a real log anywhere inside an event is refused; cutting it between events
    /// leaves a shorter valid log, which only a quote can expose (see the forgery tests).
    @Test func everyPrefixIsRefusedOrAShorterLog() throws {
        let bytes = try EventLogFixtures.bytes("go-tpm-tools--arch-linux-workstation.bin")
        let boundaries = Set(try EventLog.parse(bytes).events.map(\.offset) + [bytes.count])
        for length in 0..<bytes.count {
            let prefix = Array(bytes.prefix(length))
            if boundaries.contains(length) {
                if let log = try? EventLog.parse(prefix) {
                    #expect(log.events.last.map { $0.offset < length } ?? false)
                }
            } else {
                #expect(throws: EventLogError.self, "cut at \(length)") { try EventLog.parse(prefix) }
            }
        }
    }

    @Test func derivedFactsOfASecureBootLog() throws {
        let log = try EventLog.parse(EventLogFixtures.bytes("keylime--binary_bios_measurements-secureboot.bin"))
        let facts = log.bootFacts(anchoredPCRs: Set(0...23), excluding: [])
        #expect(facts.secureBootEnabled == true)
        #expect(Set(facts.secureBootDatabases.keys) == ["PK", "KEK", "db", "dbx"])
        #expect(!facts.bootApplications.isEmpty)
        let off = try EventLog.parse(EventLogFixtures.bytes("go-tpm-tools--ubuntu-2104-no-secure-boot.bin"))
        #expect(off.bootFacts(anchoredPCRs: Set(0...23), excluding: []).secureBootEnabled == false)
        #expect(off.bootFacts(anchoredPCRs: [], excluding: []).secureBootEnabled == nil)
    }
}
