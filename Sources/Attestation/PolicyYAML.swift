import TPM
import TSS
import Yams

extension Policy {
    /// Policies larger than this are refused before parsing.
    public static let maxYAMLSize = 256 << 10

    /// The document as written, before validation.
    private struct Document: Decodable {
        var name: String
        var pcrs: [String: [String: [String]]]?
        var eventLog: Requirement?
        var secureBoot: Requirement?
        var image: Requirement?
        var bootApplications: [String]?
        var unmeasuredBoot: Permission?
        var secureBootKeys: KeysDocument?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, pcrs, eventLog, secureBoot, image, bootApplications, unmeasuredBoot, secureBootKeys
        }
    }

    /// `secureBootKeys` as written: the word `rack`, or the sets themselves.
    private enum KeysDocument: Decodable {
        case rack
        case written(pk: [String], kek: [String], db: [String], signers: [String], dbx: [String]?)

        enum Key: String, CodingKey, CaseIterable { case pk, kek, db, signers, dbx }

        init(from decoder: Decoder) throws {
            if let word = try? decoder.singleValueContainer().decode(String.self) {
                guard word == Policy.rackKeysWord else {
                    throw DecodingError.dataCorrupted(
                        .init(codingPath: decoder.codingPath, debugDescription: "\"\(word)\" is not rack or a mapping"))
                }
                self = .rack
                return
            }
            let mapping = try decoder.container(keyedBy: Key.self)
            self = .written(
                pk: try mapping.decode([String].self, forKey: .pk),
                kek: try mapping.decode([String].self, forKey: .kek),
                db: try mapping.decode([String].self, forKey: .db),
                signers: try mapping.decode([String].self, forKey: .signers),
                dbx: try mapping.decodeIfPresent([String].self, forKey: .dbx))
        }
    }

    /// What `secureBootKeys` says to mean the keys of the appliance the policy is applied to.
    public static let rackKeysWord = "rack"

    /// Parses and validates a YAML policy. `rackKeys` are what `secureBootKeys: rack` stands
    /// for: the Secure Boot keys of the appliance the policy is applied to (without them,
    /// such a policy is refused).
    public init(yaml: String, rackKeys: SecureBootKeySet? = nil) throws(PolicyError) {
        guard yaml.utf8.count <= Self.maxYAMLSize else { throw PolicyError("larger than \(Self.maxYAMLSize) bytes") }
        let document: Document
        do { document = try YAMLDecoder().decode(Document.self, from: yaml) } catch {
            throw PolicyError("not a policy document: \(Self.describe(error))")
        }
        // A misspelt key would otherwise be dropped in silence, leaving a weaker policy than
        // the one written (`imgae: required` checks nothing).
        if case .mapping(let mapping)? = try? Yams.compose(yaml: yaml) {
            try Self.refuseUnknownKeys(of: mapping, known: Document.CodingKeys.allCases.map(\.rawValue), in: "")
            if case .mapping(let keys)? = mapping["secureBootKeys"] {
                try Self.refuseUnknownKeys(
                    of: keys, known: KeysDocument.Key.allCases.map(\.rawValue), in: "secureBootKeys.")
            }
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
        var keys: SecureBootKeySet?
        switch document.secureBootKeys {
        case nil: keys = nil
        case .rack?:
            guard let rackKeys else {
                throw PolicyError(
                    "secureBootKeys: rack names this appliance's Secure Boot keys, and it has none (warden secureboot init)"
                )
            }
            keys = rackKeys
        case .written(let pk, let kek, let db, let signers, let dbx)?:
            keys = try SecureBootKeySet(
                pk: Set(pk), kek: Set(kek), db: Set(db), signers: Set(signers), dbx: Set(dbx ?? []))
        }
        try self.init(
            name: document.name, pcrs: pcrs, eventLog: document.eventLog ?? .optional,
            secureBoot: document.secureBoot ?? .optional,
            image: document.image ?? .optional, bootApplications: Set(document.bootApplications ?? []),
            unmeasuredBoot: document.unmeasuredBoot ?? .refused, secureBootKeys: keys)
    }

    /// Whether `yaml` names the rack's Secure Boot keys (`secureBootKeys: rack`), which only
    /// the appliance it is applied to can fill in: it stores the policy as ``yaml`` writes it.
    public static func namesRackKeys(_ yaml: String) -> Bool {
        guard case .mapping(let mapping)? = try? Yams.compose(yaml: yaml) else { return false }
        return mapping["secureBootKeys"]?.string == rackKeysWord
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
        if let keys = secureBootKeys {
            lines.append("secureBootKeys:")
            let sets = [
                ("pk", keys.pk), ("kek", keys.kek), ("db", keys.db), ("signers", keys.signers), ("dbx", keys.dbx),
            ]
            for (name, values) in sets where !values.isEmpty {
                lines.append("  \(name):")
                lines += values.sorted().map { "    - \"\($0)\"" }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func refuseUnknownKeys(of mapping: Node.Mapping, known: [String], in prefix: String)
        throws(PolicyError)
    {
        guard let unknown = mapping.keys.compactMap(\.string).first(where: { !known.contains($0) }) else { return }
        throw PolicyError("unknown key \"\(prefix)\(unknown)\" (known: \(known.joined(separator: ", ")))")
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
