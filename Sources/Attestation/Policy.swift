import TPM
import TSS
import WardenCrypto

/// What a machine must prove before anything is released to it: pinned PCR values, and
/// whether a replayed event log and Secure Boot are required. Written as YAML:
///
/// ```yaml
/// name: rack-a
/// pcrs:
///   sha256:
///     0: [d0c70a93…]
///     7: [8c5dc451…, 3d458cfe…]
/// eventLog: required
/// secureBoot: required
/// ```
public struct Policy: Sendable, Equatable {
    /// Whether a property must hold (`required`) or is not checked (`optional`).
    public enum Requirement: String, Sendable, Equatable, Codable {
        case required
        case optional
    }

    /// The policy's name: lowercase letters, digits, `-`, `_` and `.`; 1 to 64 characters.
    public let name: String
    /// bank → PCR index → allowed values (lowercase hex).
    public let pcrs: [TPMAlgorithmID: [Int: Set<String>]]
    /// Whether a firmware event log must be supplied and replay to the quoted PCRs.
    public let eventLog: Requirement
    /// Whether the anchored log must show Secure Boot enabled (implies the event log).
    public let secureBoot: Requirement

    /// A policy, validated: names, banks, PCR indices 0–23 and digest sizes.
    public init(
        name: String, pcrs: [TPMAlgorithmID: [Int: Set<String>]],
        eventLog: Requirement = .optional, secureBoot: Requirement = .optional
    ) throws(PolicyError) {
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isLowercase || $0.isNumber || "-_.".contains($0) }), name.allSatisfy(\.isASCII) else {
            throw PolicyError("name \"\(name)\" must be 1 to 64 of a-z, 0-9, '-', '_', '.'")
        }
        for (bank, values) in pcrs {
            guard let algorithm = bank.digestAlgorithm, [.sha1, .sha256, .sha384].contains(algorithm) else {
                throw PolicyError("bank \(bank) is not one of sha1, sha256, sha384")
            }
            for (pcr, allowed) in values {
                guard (0...23).contains(pcr) else { throw PolicyError("PCR \(pcr) is outside 0–23") }
                guard !allowed.isEmpty else { throw PolicyError("PCR \(pcr) of \(bank) allows no value") }
                for value in allowed {
                    guard value.count == algorithm.digestSize * 2, Hex.decode(value) != nil, value == value.lowercased() else {
                        throw PolicyError("PCR \(pcr) of \(bank): \"\(value)\" is not a lowercase \(algorithm.digestSize)-byte hex digest")
                    }
                }
            }
        }
        self.name = name
        self.pcrs = pcrs
        self.eventLog = secureBoot == .required ? .required : eventLog
        self.secureBoot = secureBoot
    }
}

/// A policy that cannot be read or is not valid.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid policy: \(reason)" }
}
