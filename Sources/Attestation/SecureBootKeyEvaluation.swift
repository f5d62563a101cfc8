import Octets
import TPM
import TSS
import WardenCrypto

extension Policy {
    /// The Secure Boot variables of PCR 7 every predicted boot measures, in the order the
    /// firmware profile has them.
    static let predictedVariables = ["SecureBoot", "PK", "KEK", "db", "dbx"]

    /// PCR 7's failures under ``secureBootKeys``, event by event: each must be the
    /// `SecureBoot` variable on, PK, KEK and db holding exactly the set's certificates, the
    /// dbx the set pins, the separator, or the authority of one of the set's signers. Each
    /// reason names the event's index, type and variable. The log's SHA-256 digests must be
    /// bound by the quote, and each event's data must be what its digest measures.
    func secureBootKeyFailures(of quote: VerifiedQuote) -> [PolicyFailure] {
        guard let keys = secureBootKeys, let measured = quote.measuredBoot else { return [] }
        guard Self.anchoredInSHA256(7, quote, measured) else {
            return [
                PolicyFailure(
                    rule: .secureBoot,
                    reason:
                        "PCR 7 was not quoted in the sha256 bank with a matching event log, so the Secure Boot keys cannot be checked"
                )
            ]
        }
        var failures: [PolicyFailure] = []
        var measuredVariables: Set<String> = []
        for event in measured.eventLog.events where event.pcr == 7 && event.type != .noAction {
            let named = "PCR 7 event \(event.index) (\(event.type)"
            if event.type == .separator {
                if !event.data.elementsEqual([0, 0, 0, 0]) {
                    failures.append(PolicyFailure(rule: .secureBoot, reason: "\(named)): not a zero separator"))
                }
                continue
            }
            guard event.type == .efiVariableDriverConfig || event.type == .efiVariableAuthority else {
                failures.append(
                    PolicyFailure(rule: .secureBoot, reason: "\(named)): not an event the Secure Boot keys predict"))
                continue
            }
            guard let digest = event.digest(.sha256), DigestAlgorithm.sha256.hash(event.data).elementsEqual(digest),
                let variable = UEFIVariable(event.data)
            else {
                failures.append(
                    PolicyFailure(
                        rule: .secureBoot, reason: "\(named)): its data is not the variable its sha256 digest measures")
                )
                continue
            }
            let reason =
                event.type == .efiVariableAuthority
                ? keys.authorityMismatch(variable)
                : keys.configurationMismatch(variable, digest: Hex.encode(digest))
            if let reason {
                failures.append(PolicyFailure(rule: .secureBoot, reason: "\(named), \(variable.name)): \(reason)"))
            }
            if event.type == .efiVariableDriverConfig { measuredVariables.insert(variable.name) }
        }
        for variable in Self.predictedVariables where !measuredVariables.contains(variable) {
            failures.append(
                PolicyFailure(
                    rule: .secureBoot,
                    reason: "PCR 7: no \(EventType.efiVariableDriverConfig) event measures \(variable)"
                ))
        }
        return failures
    }
}

extension Policy.SecureBootKeySet {
    /// Why a measured Secure Boot variable is not what the set predicts; nil when it is.
    func configurationMismatch(_ variable: UEFIVariable, digest: String) -> String? {
        let vendor = variable.name == "db" || variable.name == "dbx" ? EFIGUID.imageSecurityDatabase : .globalVariable
        guard Policy.predictedVariables.contains(variable.name), variable.guid == vendor.description else {
            return "not a variable the Secure Boot keys predict"
        }
        if variable.name == "SecureBoot" {
            return variable.data.elementsEqual([1]) ? nil : "Secure Boot is off"
        }
        guard let expected = certificates(of: variable.name) else {
            guard !dbx.isEmpty, !dbx.contains(digest) else { return nil }
            return "sha256 \(digest), not a dbx the policy pins (\(dbx.sorted().joined(separator: ", ")))"
        }
        guard let entries = EFISignatureList.decode(variable.data) else { return "not an EFI signature list" }
        let others = entries.filter { $0.type != .certificateX509 }.count
        if others > 0 { return "holds \(others) entries that are not X.509 certificates" }
        let found = entries.map { Hex.encode(DigestAlgorithm.sha256.hash($0.signature)) }
        guard Set(found) == expected, found.count == expected.count else {
            let expectedList = expected.sorted().joined(separator: ", ")
            return "holds certificates \(found.joined(separator: ", ")), expected \(expectedList)"
        }
        return nil
    }

    /// Why an EV_EFI_VARIABLE_AUTHORITY event does not name one of the set's signers; nil
    /// when it does. Its data is the db entry (EFI_SIGNATURE_DATA: owner, certificate) that
    /// authorised an image.
    func authorityMismatch(_ variable: UEFIVariable) -> String? {
        guard variable.name == "db", variable.guid == EFIGUID.imageSecurityDatabase.description,
            variable.data.count > 16
        else { return "an authority other than a db certificate" }
        let signer = Hex.encode(DigestAlgorithm.sha256.hash(variable.data.dropFirst(16)))
        guard signers.contains(signer) else {
            let allowed = signers.sorted().joined(separator: ", ")
            return "signed by certificate \(signer), not one of the policy's signers (\(allowed))"
        }
        return nil
    }
}
