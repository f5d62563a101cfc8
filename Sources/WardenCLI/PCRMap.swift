import TPM
import TSS
import WardenCrypto

/// PCR values in the shape of `expected-pcrs.json`: bank name → PCR index → lowercase hex.
package typealias PCRMap = [String: [String: String]]

extension PCRValues {
    package var map: PCRMap {
        var result: PCRMap = [:]
        for entry in entries { result["\(entry.bank)", default: [:]][String(entry.pcr)] = Hex.encode(entry.value) }
        return result
    }
}

extension PCRBankValues {
    package var map: PCRMap {
        var result: PCRMap = [:]
        for (bank, values) in banks {
            result["\(bank)"] = Dictionary(uniqueKeysWithValues: values.map { (String($0.key), Hex.encode($0.value)) })
        }
        return result
    }

    /// Text lines `sha256 PCR 0: …`, banks and PCRs in order.
    var lines: [String] {
        banks.keys.sorted { $0.rawValue < $1.rawValue }.flatMap { bank in
            (banks[bank] ?? [:]).keys.sorted().map { pcr in "  \(bank) PCR \(pcr): \(Hex.encode(banks[bank]![pcr]!))" }
        }
    }
}

extension BootFacts {
    /// JSON form of the facts.
    var report: BootFactsReport {
        func hexByBank(_ digests: [TPMAlgorithmID: [UInt8]]) -> [String: String] {
            Dictionary(uniqueKeysWithValues: digests.map { ("\($0.key)", Hex.encode($0.value)) })
        }
        return BootFactsReport(
            secureBootEnabled: secureBootEnabled,
            secureBootDatabases: secureBootDatabases.mapValues(hexByBank),
            bootApplications: bootApplications.map(hexByBank)
        )
    }

    /// Text lines describing the facts.
    var lines: [String] {
        let secureBoot = secureBootEnabled.map { $0 ? "enabled" : "disabled" } ?? "not recorded"
        var lines = ["  Secure Boot: \(secureBoot)"]
        for name in ["PK", "KEK", "db", "dbx"] {
            guard let digest = secureBootDatabases[name]?[.sha256] ?? secureBootDatabases[name]?.values.first else {
                continue
            }
            lines.append("  \(name): \(Hex.encode(digest))")
        }
        for (index, application) in bootApplications.enumerated() {
            guard let digest = application[.sha256] ?? application.values.first else { continue }
            lines.append("  boot application \(index + 1): \(Hex.encode(digest))")
        }
        return lines
    }
}

/// JSON form of ``BootFacts``.
struct BootFactsReport: Encodable {
    let secureBootEnabled: Bool?
    let secureBootDatabases: [String: [String: String]]
    let bootApplications: [[String: String]]
}
