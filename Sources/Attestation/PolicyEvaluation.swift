import TPM
import TSS
import WardenCrypto

/// Why a verified quote does not meet a policy.
public struct PolicyFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Rule: String, Sendable, Codable {
        case pcr, eventLog, secureBoot
    }

    public let rule: Rule
    public let reason: String

    public var description: String { "\(rule.rawValue): \(reason)" }
}

extension Policy {
    /// Every way `quote` falls short of this policy; empty when it meets it. Only verified
    /// evidence can be evaluated: a ``VerifiedQuote`` exists only after every check passed.
    public func failures(of quote: VerifiedQuote) -> [PolicyFailure] {
        var failures: [PolicyFailure] = []
        for bank in pcrs.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            for (pcr, allowed) in (pcrs[bank] ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let value = quote.pcrValues.value(bank: bank, pcr: pcr) else {
                    failures.append(PolicyFailure(rule: .pcr, reason: "PCR \(pcr) (\(bank)) was not quoted"))
                    continue
                }
                let found = Hex.encode(value)
                if !allowed.contains(found) {
                    let expected = allowed.sorted().joined(separator: " or ")
                    failures.append(PolicyFailure(rule: .pcr, reason: "PCR \(pcr) (\(bank)) is \(found), expected \(expected)"))
                }
            }
        }
        if eventLog == .required && quote.measuredBoot == nil {
            failures.append(PolicyFailure(rule: .eventLog, reason: "no event log replayed to the quoted PCRs"))
        }
        if secureBoot == .required {
            switch quote.measuredBoot?.facts.secureBootEnabled {
            case true?: break
            case false?: failures.append(PolicyFailure(rule: .secureBoot, reason: "the measured boot shows Secure Boot disabled"))
            case nil: failures.append(PolicyFailure(rule: .secureBoot, reason: "no quoted measurement of PCR 7 records the Secure Boot state"))
            }
        }
        return failures
    }

    /// PCRs the trust-on-first-use default pins: firmware and configuration (0–7), the boot
    /// loader's measurements (8, 9), and the UKI's sections and command line (11, 12).
    public static let firstUsePCRs = Array(0...9) + [11, 12]

    /// The policy a machine enrolled without one gets at its first passing attestation: the
    /// quoted values of ``firstUsePCRs`` in every quoted bank, pinned. Refused when the quote
    /// does not cover them all.
    public static func pinning(_ quote: VerifiedQuote, name: String) throws(PolicyError) -> Policy {
        var pcrs: [TPMAlgorithmID: [Int: Set<String>]] = [:]
        for bank in quote.pcrValues.selection.banks {
            let missing = firstUsePCRs.filter { !bank.pcrs.contains($0) }
            guard missing.isEmpty else {
                throw PolicyError("the quote's \(bank.hash) bank lacks PCRs \(missing.map(String.init).joined(separator: ",")) needed to pin a first-use policy")
            }
            for pcr in firstUsePCRs {
                if let value = quote.pcrValues.value(bank: bank.hash, pcr: pcr) { pcrs[bank.hash, default: [:]][pcr] = [Hex.encode(value)] }
            }
        }
        return try Policy(name: name, pcrs: pcrs, eventLog: quote.measuredBoot == nil ? .optional : .required)
    }
}
