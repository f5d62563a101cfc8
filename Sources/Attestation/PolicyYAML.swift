import TPM
import TSS
import Yams

extension Policy {
    /// Policies larger than this are refused before parsing.
    public static let maxYAMLSize = 256 << 10

    /// The document as written, before validation.
    private struct Document: Codable {
        var name: String
        var pcrs: [String: [String: [String]]]?
        var eventLog: Requirement?
        var secureBoot: Requirement?
        var image: Requirement?
        var bootApplications: [String]?
        var unmeasuredBoot: Permission?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, pcrs, eventLog, secureBoot, image, bootApplications, unmeasuredBoot
        }
    }

    /// Parses and validates a YAML policy.
    public init(yaml: String) throws(PolicyError) {
        guard yaml.utf8.count <= Self.maxYAMLSize else { throw PolicyError("larger than \(Self.maxYAMLSize) bytes") }
        let document: Document
        do { document = try YAMLDecoder().decode(Document.self, from: yaml) } catch {
            throw PolicyError("not a policy document: \(Self.describe(error))")
        }
        // A misspelt key would otherwise be dropped in silence, leaving a weaker policy than
        // the one written (`imgae: required` checks nothing).
        if case .mapping(let mapping)? = try? Yams.compose(yaml: yaml),
            let unknown = mapping.keys.compactMap(\.string).first(where: { Document.CodingKeys(stringValue: $0) == nil }
            )
        {
            throw PolicyError(
                "unknown key \"\(unknown)\" (known: \(Document.CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        var pcrs: [TPMAlgorithmID: [Int: Set<String>]] = [:]
        for (bankName, values) in document.pcrs ?? [:] {
            guard let bank = TPMAlgorithmID(bankName: bankName) else {
                throw PolicyError("bank \"\(bankName)\" is not one of sha1, sha256, sha384")
            }
            for (index, allowed) in values {
                guard let pcr = Int(index) else { throw PolicyError("\"\(index)\" is not a PCR index") }
                pcrs[bank, default: [:]][pcr] = Set(allowed)
            }
        }
        try self.init(
            name: document.name, pcrs: pcrs, eventLog: document.eventLog ?? .optional,
            secureBoot: document.secureBoot ?? .optional,
            image: document.image ?? .optional, bootApplications: Set(document.bootApplications ?? []),
            unmeasuredBoot: document.unmeasuredBoot ?? .refused)
    }

    /// The policy as YAML, banks and PCRs in order, values sorted: stable for review and diffs.
    public var yaml: String {
        var lines = ["name: \(name)", "pcrs:"]
        if pcrs.isEmpty { lines[1] = "pcrs: {}" }
        for bank in pcrs.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            lines.append("  \(bank):")
            for pcr in (pcrs[bank] ?? [:]).keys.sorted() {
                lines.append(
                    "    \(pcr): [\((pcrs[bank]?[pcr] ?? []).sorted().map { "\"\($0)\"" }.joined(separator: ", "))]")
            }
        }
        lines.append("eventLog: \(eventLog.rawValue)")
        lines.append("secureBoot: \(secureBoot.rawValue)")
        // The boot-chain keys only when they say more than their defaults, so that
        // policies written before them read as they always did.
        if image == .required { lines.append("image: required") }
        if !bootApplications.isEmpty {
            lines.append("bootApplications:")
            lines += bootApplications.sorted().map { "  - \"\($0)\"" }
        }
        if unmeasuredBoot == .allowed { lines.append("unmeasuredBoot: allowed") }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.dataCorrupted(let context),
            DecodingError.valueNotFound(_, let context):
            context.codingPath.map(\.stringValue).joined(separator: ".") + ": " + context.debugDescription
        default: String(describing: error)
        }
    }
}
