import TPM
import TSS
import WardenCrypto

/// Why a verified quote does not meet a policy.
public struct PolicyFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Rule: String, Sendable, Codable {
        case pcr, eventLog, secureBoot, bootApplication, image, unmeasuredBoot
    }

    public let rule: Rule
    public let reason: String

    public var description: String { "\(rule.rawValue): \(reason)" }
}

extension Policy {
    /// Every way `quote` falls short of this policy; empty when it meets it. Only verified
    /// evidence can be evaluated: a ``VerifiedQuote`` exists only after every check passed.
    /// `boot` is what Warden knows of the machine's boot: its image's expected measurements
    /// and whether its kernel went unmeasured.
    public func failures(of quote: VerifiedQuote, boot: BootReference = BootReference()) -> [PolicyFailure] {
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
                    failures.append(
                        PolicyFailure(rule: .pcr, reason: "PCR \(pcr) (\(bank)) is \(found), expected \(expected)"))
                }
            }
        }
        if eventLog == .required && quote.measuredBoot == nil {
            failures.append(PolicyFailure(rule: .eventLog, reason: "no event log replayed to the quoted PCRs"))
        }
        if secureBoot == .required {
            switch quote.measuredBoot?.facts.secureBootEnabled {
            case true?: break
            case false?:
                failures.append(
                    PolicyFailure(rule: .secureBoot, reason: "the measured boot shows Secure Boot disabled"))
            case nil:
                failures.append(
                    PolicyFailure(
                        rule: .secureBoot, reason: "no quoted measurement of PCR 7 records the Secure Boot state"))
            }
        }
        return failures + secureBootKeyFailures(of: quote) + bootChainFailures(of: quote, boot: boot)
    }

    /// PCRs the trust-on-first-use default pins: firmware and configuration (0–7), the boot
    /// loader's measurements (8, 9), and the UKI's sections and command line (11, 12).
    public static let firstUsePCRs = Array(0...9) + [11, 12]

    /// The policy a machine enrolled without one gets at its first passing attestation: the
    /// quoted values of ``firstUsePCRs`` in every quoted bank, pinned. Refused when the quote
    /// does not cover them all.
    public static func pinning(_ quote: VerifiedQuote, name: String) throws(PolicyError) -> Policy {
        try holding(firstUsePCRs, of: quote, name: name, secureBoot: .optional)
    }

    /// PCRs a learned policy holds: firmware, its configuration, option ROMs, boot
    /// applications (PCR 4) and the Secure Boot state and databases (PCR 7).
    public static let learnedPCRs = Array(0...7)

    /// A policy learned from a known-good attestation, for an operator to review and apply:
    /// its quoted PCRs 0–7 in every quoted bank, the boot applications PCR 4 loaded, the
    /// event log required when it had one, and Secure Boot required when its measured boot
    /// shows Secure Boot on.
    ///
    /// Following `image` (the machine's image when it attested), PCR 4 is left to the image
    /// instead: the policy requires the boot to follow whatever image the machine is given,
    /// and names only the applications the image does not account for. Changing the
    /// machine's image then changes what the policy allows, without learning again.
    public static func learning(from quote: VerifiedQuote, name: String, following image: BootReference.Image? = nil)
        throws(PolicyError) -> Policy
    {
        let loaded = Set(quote.measuredBoot?.facts.bootApplications.compactMap { $0[.sha256].map(Hex.encode) } ?? [])
        if let image, !loaded.contains(image.unifiedKernelImage.sha256) {
            // Another image booted then: its digests would be learned as allowed for good.
            throw PolicyError(
                "the attestation did not boot image \(image.name), the machine's image now; learn from one that did")
        }
        let applications = loaded.subtracting((image?.bootApplications ?? []).map(\.sha256))
        let learned = try holding(
            image == nil ? learnedPCRs : learnedPCRs.filter { $0 != 4 }, of: quote, name: name,
            secureBoot: quote.measuredBoot?.facts.secureBootEnabled == true ? .required : .optional)
        return try Policy(
            name: name, pcrs: learned.pcrs, eventLog: learned.eventLog, secureBoot: learned.secureBoot,
            image: image == nil ? .optional : .required, bootApplications: applications)
    }

    /// The quoted values of `indices` in every quoted bank, each the only value allowed.
    private static func holding(_ indices: [Int], of quote: VerifiedQuote, name: String, secureBoot: Requirement)
        throws(PolicyError) -> Policy
    {
        var pcrs: [TPMAlgorithmID: [Int: Set<String>]] = [:]
        for bank in quote.pcrValues.selection.banks {
            let missing = indices.filter { !bank.pcrs.contains($0) }
            guard missing.isEmpty else {
                throw PolicyError(
                    "the quote's \(bank.hash) bank lacks PCRs \(missing.map(String.init).joined(separator: ",")) that the policy holds"
                )
            }
            for pcr in indices {
                if let value = quote.pcrValues.value(bank: bank.hash, pcr: pcr) {
                    pcrs[bank.hash, default: [:]][pcr] = [Hex.encode(value)]
                }
            }
        }
        return try Policy(
            name: name, pcrs: pcrs, eventLog: quote.measuredBoot == nil ? .optional : .required, secureBoot: secureBoot)
    }
}

extension Policy {
    /// The name of the policy a machine's own evidence pins (trust on first use, approvals).
    public static func machinePolicyName(_ machineName: String) -> String {
        String(
            ("machine-" + machineName.lowercased().filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }).prefix(
                64))
    }
}
