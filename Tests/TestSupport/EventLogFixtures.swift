import Foundation
import TPM
import WardenCrypto

/// The real event logs in `../shared/fixtures/eventlogs` and the PCR values recorded for them.
public enum EventLogFixtures {
    /// The deliberately truncated or invalid logs (see the fixtures' SOURCES.md).
    public static let invalid: Set<String> = [
        "go-attestation--short_no_action_eventlog.bin", "keylime--binary_bios_measurements-bogus.bin",
    ]

    /// Every `.bin` log, by file name.
    public static func all() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: TestPaths.eventLogFixtures.path)
            .filter { $0.hasSuffix(".bin") }.sorted()
    }

    /// The bytes of one log.
    public static func bytes(_ name: String) throws -> [UInt8] {
        try TestPaths.bytes(TestPaths.eventLogFixtures.appendingPathComponent(name))
    }

    /// `expected-pcrs.json`: log → bank → PCR index → hex.
    public static func expectedPCRs() throws -> [String: [String: [String: String]]] {
        let data = try Data(contentsOf: TestPaths.eventLogFixtures.appendingPathComponent("expected-pcrs.json"))
        return try JSONDecoder().decode([String: [String: [String: String]]].self, from: data)
    }

    /// The `pcrs:` section `tpm2_eventlog` prints: bank → PCR index → hex (lowercase); nil
    /// when that tool cannot read the log (it fails on some real SHA-1 format logs).
    public static func tpm2EventlogPCRs(_ name: String) throws -> [String: [String: String]]? {
        let result = try Command.run("tpm2_eventlog", [TestPaths.eventLogFixtures.appendingPathComponent(name).path])
        guard result.status == 0 else { return nil }
        var pcrs: [String: [String: String]] = [:]
        var bank: String?
        var inPCRs = false
        for line in result.stdout.split(separator: "\n") {
            if line == "pcrs:" { inPCRs = true; continue }
            guard inPCRs else { continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasSuffix(":") {
                bank = String(trimmed.dropLast())
            } else if let bank, let colon = trimmed.firstIndex(of: ":") {
                let index = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
                let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                pcrs[bank, default: [:]][index] = String(value.dropFirst(2)).lowercased()
            }
        }
        return pcrs
    }
}

extension PCRBankValues {
    /// The values as bank name → PCR index → hex, the shape of `expected-pcrs.json`.
    public var hexMap: [String: [String: String]] {
        var map: [String: [String: String]] = [:]
        for (bank, values) in banks {
            for (pcr, value) in values { map["\(bank)", default: [:]][String(pcr)] = Hex.encode(value) }
        }
        return map
    }
}
