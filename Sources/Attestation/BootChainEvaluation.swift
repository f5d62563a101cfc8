import TPM
import TSS
import WardenCrypto

extension Policy {
    /// The boot chain's failures, event by event: an unmeasured boot the policy does not
    /// allow; PCR 4 applications that are neither the image's nor allowed by name; PCR 11
    /// and PCR 12 events other than the image predicts. Each reason names the PCR, the
    /// event's index and type, and the expected and found digests.
    func bootChainFailures(of quote: VerifiedQuote, boot: BootReference) -> [PolicyFailure] {
        var failures: [PolicyFailure] = []
        if let why = boot.unmeasured, unmeasuredBoot == .refused {
            failures.append(
                PolicyFailure(rule: .unmeasuredBoot, reason: "\(why); the policy does not allow unmeasured boots"))
        }
        let followed = image == .required ? boot.image : nil
        if image == .required && followed == nil {
            failures.append(
                PolicyFailure(
                    rule: .image,
                    reason: "the policy follows the machine's image, and the machine boots none from the catalogue"))
        }
        guard followed != nil || !bootApplications.isEmpty, let measured = quote.measuredBoot else { return failures }
        var allowed = Dictionary(
            bootApplications.map { ($0, "allowed by policy \(name)") }, uniquingKeysWith: { first, _ in first })
        for application in followed?.bootApplications ?? [] { allowed[application.sha256] = application.what }
        failures += Self.applicationFailures(
            in: quote, measured, allowed: allowed, required: followed?.unifiedKernelImage)
        if let followed {
            failures += Self.sequenceFailures(
                pcr: 11, in: quote, measured, expected: followed.pcr11, image: followed.name)
            // Under Secure Boot, systemd's stub starts a UKI that has a .cmdline section (every
            // image Warden builds) with that command line, ignores the one iPXE passes, and
            // measures none into PCR 12: PCR 4 (the signed UKI) and PCR 11 (its .cmdline
            // section) cover it. So a PCR 12 the log never extends holds whatever PCR 7 says
            // (it may not say); under Secure Boot, a command line there is refused.
            let extended = measured.eventLog.events.contains { $0.pcr == 12 }
            let commandLine = measured.facts.secureBootEnabled == true || !extended ? [] : followed.pcr12
            failures += Self.sequenceFailures(
                pcr: 12, in: quote, measured, expected: commandLine, image: followed.name)
        }
        return failures
    }

    /// What PCR 4 may hold besides applications: the firmware profile's boot-option
    /// actions and the separator, each with exactly its data (whose digest the verifier
    /// has checked). An event's type is not measured, and an application's Authenticode
    /// digest is itself a plain hash of bytes anyone can put in an event's data: checking
    /// the digest against the data is not enough, the data must be what it should be.
    private static func isBootOptionMarker(_ event: LogEvent) -> Bool {
        switch event.type {
        case .efiAction: bootOptionActions.contains(Array(event.data))
        case .separator: event.data.elementsEqual([0, 0, 0, 0])
        default: false
        }
    }

    private static let bootOptionActions: Set<[UInt8]> = [
        Array("Calling EFI Application from Boot Option".utf8),
        Array("Returning from EFI Application from Boot Option".utf8),
    ]

    /// The most events of PCR 4 named in failures; the rest are counted.
    private static let maxNamedEvents = 8

    /// Every event PCR 4 extends must be a boot-option marker or an application that is
    /// allowed; `required` must be among the applications.
    private static func applicationFailures(
        in quote: VerifiedQuote, _ measured: MeasuredBoot, allowed: [String: String],
        required: BootReference.Measurement?
    ) -> [PolicyFailure] {
        guard anchoredInSHA256(4, quote, measured) else {
            return [
                PolicyFailure(
                    rule: .bootApplication,
                    reason:
                        "PCR 4 was not quoted in the sha256 bank with a matching event log, so its boot applications cannot be checked"
                )
            ]
        }
        var failures: [PolicyFailure] = []
        var loadedRequired = false
        for event in measured.eventLog.events
        where event.pcr == 4 && event.type != .noAction && !isBootOptionMarker(event) {
            let digest = event.digest(.sha256).map(Hex.encode)
            if event.type == .efiBootServicesApplication, let digest {
                if digest == required?.sha256 { loadedRequired = true }
                if allowed[digest] != nil { continue }
            }
            failures.append(
                PolicyFailure(
                    rule: .bootApplication,
                    reason: "PCR 4 event \(event.index) (\(event.type)): found sha256 \(digest ?? "none"), "
                        + (event.type == .efiBootServicesApplication
                            ? "not an allowed application" : "not an event PCR 4 may hold")))
        }
        if failures.count > maxNamedEvents {
            let more = failures.count - maxNamedEvents
            failures =
                Array(failures.prefix(maxNamedEvents)) + [
                    PolicyFailure(rule: .bootApplication, reason: "and \(more) more PCR 4 events like these")
                ]
        }
        if !failures.isEmpty {
            let expected = allowed.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            failures.append(
                PolicyFailure(
                    rule: .bootApplication, reason: "PCR 4 may load only: \(expected.isEmpty ? "nothing" : expected)"))
        }
        if let required, !loadedRequired {
            failures.append(
                PolicyFailure(
                    rule: .image,
                    reason:
                        "PCR 4: no \(EventType.efiBootServicesApplication) event loads \(required.what), sha256 \(required.sha256)"
                ))
        }
        return failures
    }

    /// PCR `pcr`'s events must be exactly `expected`, in order.
    private static func sequenceFailures(
        pcr: Int, in quote: VerifiedQuote, _ measured: MeasuredBoot, expected: [BootReference.Measurement],
        image: String
    ) -> [PolicyFailure] {
        let events = measured.eventLog.events.filter { $0.pcr == pcr }
        // A PCR the log never extends anchors nothing, and its missing events fail below.
        guard events.isEmpty || anchoredInSHA256(pcr, quote, measured) else {
            return [
                PolicyFailure(
                    rule: .image,
                    reason:
                        "PCR \(pcr) was not quoted in the sha256 bank with a matching event log, so image \(image)'s measurements cannot be checked"
                )
            ]
        }
        for (position, event) in events.enumerated() {
            let found = event.digest(.sha256).map(Hex.encode) ?? "none"
            guard position < expected.count else {
                return [
                    PolicyFailure(
                        rule: .image,
                        reason:
                            "PCR \(pcr) event \(event.index) (\(event.type)): found sha256 \(found), and image \(image) predicts no further event"
                    )
                ]
            }
            if found != expected[position].sha256 {
                return [
                    PolicyFailure(
                        rule: .image,
                        reason:
                            "PCR \(pcr) event \(event.index) (\(event.type)): found sha256 \(found), expected \(expected[position].sha256) (\(expected[position].what) of image \(image))"
                    )
                ]
            }
        }
        guard events.count == expected.count else {
            let missing = expected[events.count]
            return [
                PolicyFailure(
                    rule: .image,
                    reason:
                        "PCR \(pcr) ends after \(events.count) events: expected sha256 \(missing.sha256) (\(missing.what) of image \(image)) next"
                )
            ]
        }
        return []
    }

    /// Whether the log's SHA-256 digests for `pcr` are bound by the quote: the SHA-256 bank
    /// quoted it and the log replays to the quoted values.
    static func anchoredInSHA256(_ pcr: Int, _ quote: VerifiedQuote, _ measured: MeasuredBoot) -> Bool {
        measured.anchoredPCRs.contains(pcr) && quote.pcrValues.value(bank: .sha256, pcr: pcr) != nil
    }
}
