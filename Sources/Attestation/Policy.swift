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
/// image: required          # PCR 4's boot applications, PCR 11 and PCR 12 follow the machine's image
/// bootApplications: [9a2f…] # further Authenticode SHA-256 digests PCR 4 may load
/// unmeasuredBoot: allowed  # releases to legacy BIOS boots, whose kernel nothing measured
/// secureBootKeys: rack     # PCR 7 predicted from the rack's PK, KEK and db (``SecureBootKeySet``)
/// ```
public struct Policy: Sendable, Equatable {
    /// Whether a property must hold (`required`) or is not checked (`optional`).
    public enum Requirement: String, Sendable, Equatable, Codable {
        case required
        case optional
    }

    /// Whether something is allowed or refused.
    public enum Permission: String, Sendable, Equatable, Codable {
        case allowed
        case refused
    }

    /// The policy's name: lowercase letters, digits, `-`, `_` and `.`; 1 to 64 characters.
    public let name: String
    /// bank → PCR index → allowed values (lowercase hex).
    public let pcrs: [TPMAlgorithmID: [Int: Set<String>]]
    /// Whether a firmware event log must be supplied and replay to the quoted PCRs.
    public let eventLog: Requirement
    /// Whether the anchored log must show Secure Boot enabled (implies the event log).
    public let secureBoot: Requirement
    /// Whether the boot must follow the machine's image in the catalogue: PCR 4 loads only
    /// its UKI, its kernel, the iPXE Warden serves and ``bootApplications``; PCR 11 and
    /// PCR 12 hold what its UKI and command line predict (implies the event log).
    public let image: Requirement
    /// Authenticode SHA-256 digests (lowercase hex) of further EFI applications PCR 4 may
    /// load; when given, every application PCR 4 loads must be one of them or the image's
    /// (implies the event log).
    public let bootApplications: Set<String>
    /// Whether a boot whose kernel nothing measured (legacy BIOS) may pass: refused unless
    /// the policy says so.
    public let unmeasuredBoot: Permission
    /// The keys PCR 7 must show the firmware holding and the signers that may authorise
    /// what boots, predicted instead of pinned (implies Secure Boot and the event log).
    public let secureBootKeys: SecureBootKeySet?

    /// A policy, validated: names, banks, PCR indices 0–23 and digest sizes.
    public init(
        name: String, pcrs: [TPMAlgorithmID: [Int: Set<String>]],
        eventLog: Requirement = .optional, secureBoot: Requirement = .optional,
        image: Requirement = .optional, bootApplications: Set<String> = [], unmeasuredBoot: Permission = .refused,
        secureBootKeys: SecureBootKeySet? = nil
    ) throws(PolicyError) {
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isLowercase || $0.isNumber || "-_.".contains($0) }),
            name.allSatisfy(\.isASCII)
        else {
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
                    guard value.count == algorithm.digestSize * 2, Hex.decode(value) != nil, value == value.lowercased()
                    else {
                        throw PolicyError(
                            "PCR \(pcr) of \(bank): \"\(value)\" is not a lowercase \(algorithm.digestSize)-byte hex digest"
                        )
                    }
                }
            }
        }
        for digest in bootApplications
        where digest.count != 64 || Hex.decode(digest) == nil || digest != digest.lowercased() {
            throw PolicyError("boot application \"\(digest)\" is not a lowercase SHA-256 hex digest")
        }
        if unmeasuredBoot == .allowed && (image == .required || !bootApplications.isEmpty) {
            // An unmeasured boot has no boot chain to check: allowing it would let anyone who
            // makes a boot look unmeasured switch the chain's checks off.
            throw PolicyError(
                "unmeasuredBoot: allowed cannot go with image: required or bootApplications (an unmeasured boot has no boot chain to check)"
            )
        }
        self.name = name
        self.pcrs = pcrs
        let needsSecureBoot = secureBoot == .required || secureBootKeys != nil
        let needsLog = needsSecureBoot || image == .required || !bootApplications.isEmpty
        self.eventLog = needsLog ? .required : eventLog
        self.secureBoot = needsSecureBoot ? .required : secureBoot
        self.secureBootKeys = secureBootKeys
        self.image = image
        self.bootApplications = bootApplications
        self.unmeasuredBoot = unmeasuredBoot
    }
}

/// A policy that cannot be read or is not valid.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid policy: \(reason)" }
}
