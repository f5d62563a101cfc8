import Attestation
import Testing
import TestSupport
import TPM
import TPMSimulation
import TSS
import WardenCrypto

/// Policies that follow the machine's image and allow boot applications by digest, judged
/// on real swtpm evidence: a quote of PCRs 0–23 with an event log whose PCR 4 loads two
/// EFI applications (Tests/Scripts/make-swtpm-evidence.sh).
@Suite struct BootChainPolicyTests {
    let quote: VerifiedQuote
    /// The log's PCR 4 applications: (event index, sha256 hex).
    let applications: [(index: Int, sha256: String)]
    let followsImage: Policy

    init() throws {
        followsImage = try Policy(name: "follow", pcrs: [:], image: .required)
        quote = try PolicyTests().verified("rsa24", log: true)
        applications = (quote.measuredBoot?.eventLog.events ?? []).filter {
            $0.pcr == 4 && $0.type == .efiBootServicesApplication
        }
        .map { ($0.index, Hex.encode($0.digest(.sha256) ?? [])) }
    }

    func image(allowing allowed: [String], loading uki: String? = nil, pcr11: [BootReference.Measurement] = [])
        -> BootReference.Image
    {
        BootReference.Image(
            name: "node",
            bootApplications: allowed.enumerated().map {
                BootReference.Measurement(what: "application \($0.offset)", sha256: $0.element)
            },
            unifiedKernelImage: BootReference.Measurement(what: "image node", sha256: uki ?? allowed.last ?? ""),
            pcr11: pcr11, pcr12: [])
    }

    @Test func theLogLoadsTwoApplications() {
        #expect(applications.count == 2)
    }

    @Test func aBootThatLoadsOnlyTheImagesApplicationsPasses() {
        let boot = BootReference(image: image(allowing: applications.map(\.sha256)))
        #expect(followsImage.failures(of: quote, boot: boot).isEmpty)
        #expect(followsImage.eventLog == .required)
    }

    @Test func anApplicationTheImageDoesNotAllowIsNamedWithItsEvent() throws {
        let boot = BootReference(image: image(allowing: [applications[0].sha256]))
        let failures = followsImage.failures(of: quote, boot: boot)
        #expect(
            failures.map(\.description) == [
                "bootApplication: PCR 4 event \(applications[1].index) (EV_EFI_BOOT_SERVICES_APPLICATION): found sha256 \(applications[1].sha256), not an allowed application",
                "bootApplication: PCR 4 may load only: \(applications[0].sha256) (application 0)",
            ])
    }

    /// The real log with its second application's type rewritten as `type`; it still
    /// verifies (the type is in no digest), so only the policy can refuse it.
    func relabelled(as type: UInt32) throws -> VerifiedQuote {
        let files = try QuoteFiles.swtpm("rsa24", ak: "rsa", eventLog: true)
        var log = try #require(files.evidence.eventLog)
        let event = try #require(quote.measuredBoot?.eventLog.events.first { $0.index == applications[1].index })
        log.replaceSubrange(
            (event.offset + 4)..<(event.offset + 8), with: withUnsafeBytes(of: type.littleEndian, Array.init))
        var evidence = files.evidence
        evidence.eventLog = log
        guard case .verified(let verified) = QuoteVerifier().verify(evidence) else {
            throw PolicyError("the relabelled log does not verify")
        }
        return verified
    }

    /// An event's type is not measured: an application logged as another type must fail,
    /// not be skipped.
    @Test func anApplicationRelabelledAsADriverIsNotSkipped() throws {
        let forged = try relabelled(as: 0x8000_0004)
        let boot = BootReference(image: image(allowing: [applications[0].sha256], loading: applications[0].sha256))
        #expect(
            followsImage.failures(of: forged, boot: boot).map(\.reason).first
                == "PCR 4 event \(applications[1].index) (EV_EFI_BOOT_SERVICES_DRIVER): found sha256 \(applications[1].sha256), not an event PCR 4 may hold"
        )
    }

    /// A verified quote of PCRs 0–23 (sha256) by a software AK, whose log holds `pcr4` in
    /// PCR 4: (type, data, digest — nil: the SHA-256 of the data, as the verifier checks).
    func quote(pcr4: [(EventType, [UInt8], [UInt8]?)], before: (inout EventLogBuilder) -> Void = { _ in })
        throws -> VerifiedQuote
    {
        var builder = EventLogBuilder(banks: [.sha256])
        before(&builder)
        for (type, data, digest) in pcr4 {
            if let digest {
                builder.append(pcr: 4, type: type, digests: [digest], data: data)
            } else {
                builder.measure(pcr: 4, type: type, data: data)
            }
        }
        return try Self.quote(log: builder.log)
    }

    /// A verified quote of PCRs 0–23 (sha256) by a software AK over what `log` replays to,
    /// with `log` as its event log.
    static func quote(log bytes: [UInt8]) throws -> VerifiedQuote {
        let log = try EventLog.parse(bytes)
        let replay = log.replay()
        let bank = PCRSelection.Bank(hash: .sha256, pcrs: Array(0...23))
        let values = try PCRValues(
            selection: PCRSelection([bank]),
            values: bank.pcrs.map { replay.value(bank: .sha256, pcr: $0) ?? log.initialValue(pcr: $0, size: 32) })
        let ak = try SoftwareAttestationKey()
        let nonce = SecureRandom.bytes(32)
        let signed = try ak.quote(
            values, nonce: nonce, clock: .init(clock: 1, resetCount: 1, restartCount: 0, safe: true))
        let evidence = Evidence(
            attestationKey: ak.publicArea, attest: signed.attest, signature: signed.signature,
            pcrs: try TPM2ToolsPCRFile.serialize(values), eventLog: bytes, nonce: nonce)
        guard case .verified(let verified) = QuoteVerifier().verify(evidence) else {
            throw PolicyError("the built evidence does not verify")
        }
        return verified
    }

    /// Nor as an action or a separator: an application's Authenticode digest is a plain
    /// SHA-256 of bytes anyone can put in an event's data, so the data check passes; only
    /// the firmware profile's exact actions and a zero separator may stand beside the
    /// applications.
    @Test func onlyTheBootOptionActionsAndAZeroSeparatorStandBesideTheApplications() throws {
        let uki = String(repeating: "ab", count: 32)
        let boot = BootReference(image: image(allowing: [uki], loading: uki))
        let application: (EventType, [UInt8], [UInt8]?) = (.efiBootServicesApplication, [1, 2, 3], Hex.decode(uki))
        let calling: (EventType, [UInt8], [UInt8]?) = (
            .efiAction, Array("Calling EFI Application from Boot Option".utf8), nil
        )
        let separator: (EventType, [UInt8], [UInt8]?) = (.separator, [0, 0, 0, 0], nil)
        #expect(followsImage.failures(of: try quote(pcr4: [calling, separator, application]), boot: boot).isEmpty)

        let rogueStream = Array("the Authenticode byte stream of a rogue loader".utf8)
        for hidden in [
            (EventType.efiAction, rogueStream), (.separator, rogueStream), (.separator, [0xFF, 0xFF, 0xFF, 0xFF]),
        ] as [(EventType, [UInt8])] {
            let forged = try quote(pcr4: [calling, separator, (hidden.0, hidden.1, nil), application])
            let digest = Hex.encode(DigestAlgorithm.sha256.hash(hidden.1))
            #expect(
                followsImage.failures(of: forged, boot: boot).map(\.reason).first
                    == "PCR 4 event 3 (\(hidden.0)): found sha256 \(digest), not an event PCR 4 may hold")
        }
    }

    /// Secure Boot's state as PCR 7 measures it: the `SecureBoot` variable (UEFI_VARIABLE_DATA).
    static func secureBoot(_ enabled: Bool) -> (inout EventLogBuilder) -> Void {
        { builder in
            let data = UEFIVariable.encode(
                guid: UEFIVariable.globalVariableGUID, name: "SecureBoot", data: [enabled ? 1 : 0])
            builder.measure(pcr: 7, type: .efiVariableDriverConfig, data: data)
        }
    }

    /// Under Secure Boot the stub measures no command line into PCR 12, and one there is
    /// refused; with Secure Boot off, a command line there must be the image's.
    @Test func pcr12FollowsSecureBoot() throws {
        let uki = String(repeating: "ab", count: 32)
        let commandLine = [UInt8]("node.efi console=ttyS0".utf8)
        var image = image(allowing: [uki], loading: uki)
        image = BootReference.Image(
            name: image.name, bootApplications: image.bootApplications, unifiedKernelImage: image.unifiedKernelImage,
            pcr11: [],
            pcr12: [.init(what: "the command line", sha256: Hex.encode(DigestAlgorithm.sha256.hash(commandLine)))])
        let boot = BootReference(image: image)
        let application: (EventType, [UInt8], [UInt8]?) = (.efiBootServicesApplication, [1, 2, 3], Hex.decode(uki))
        func withCommandLine(_ secureBootOn: Bool) -> (inout EventLogBuilder) -> Void {
            { builder in
                Self.secureBoot(secureBootOn)(&builder)
                builder.measure(pcr: 12, type: .ipl, data: commandLine)
            }
        }
        #expect(
            followsImage.failures(of: try quote(pcr4: [application], before: withCommandLine(false)), boot: boot)
                .isEmpty)
        // A PCR 12 the log never extends: the stub used the built-in command line, which PCR 11 covers.
        #expect(
            followsImage.failures(of: try quote(pcr4: [application], before: Self.secureBoot(false)), boot: boot)
                .isEmpty)
        let secure = try quote(pcr4: [application], before: Self.secureBoot(true))
        #expect(secure.measuredBoot?.facts.secureBootEnabled == true)
        #expect(followsImage.failures(of: secure, boot: boot).isEmpty)
        #expect(
            followsImage.failures(of: try quote(pcr4: [application], before: withCommandLine(true)), boot: boot).map(
                \.rule)
                == [.image])
    }

    @Test func theImageItselfMustBeLoaded() {
        let other = String(repeating: "ab", count: 32)
        let failures = followsImage.failures(
            of: quote, boot: BootReference(image: image(allowing: applications.map(\.sha256), loading: other)))
        #expect(
            failures.map(\.description) == [
                "image: PCR 4: no EV_EFI_BOOT_SERVICES_APPLICATION event loads image node, sha256 \(other)"
            ])
    }

    @Test func missingPCR11EventsAreNamed() {
        let section = BootReference.Measurement(what: "section name .linux", sha256: String(repeating: "11", count: 32))
        let boot = BootReference(image: image(allowing: applications.map(\.sha256), pcr11: [section]))
        #expect(
            followsImage.failures(of: quote, boot: boot).map(\.description)
                == [
                    "image: PCR 11 ends after 0 events: expected sha256 \(section.sha256) (section name .linux of image node) next"
                ])
    }

    @Test func aPolicyThatFollowsTheImageRefusesAMachineWithoutOne() {
        #expect(followsImage.failures(of: quote).map(\.rule) == [.image])
    }

    @Test func applicationsAllowedByNameNeedNoImage() throws {
        let allowed = try Policy(name: "apps", pcrs: [:], bootApplications: Set(applications.map(\.sha256)))
        #expect(allowed.failures(of: quote).isEmpty)
        let one = try Policy(name: "apps", pcrs: [:], bootApplications: [applications[0].sha256])
        #expect(
            one.failures(of: quote).map(\.reason).first?.hasPrefix(
                "PCR 4 event \(applications[1].index) (EV_EFI_BOOT_SERVICES_APPLICATION)") == true)
    }

    @Test func unmeasuredBootsPassOnlyWhereThePolicySaysSo() throws {
        let unmeasured = BootReference(unmeasured: "unmeasured boot: legacy BIOS")
        let strict = try Policy(name: "strict", pcrs: [:])
        #expect(
            strict.failures(of: quote, boot: unmeasured).map(\.description) == [
                "unmeasuredBoot: unmeasured boot: legacy BIOS; the policy does not allow unmeasured boots"
            ])
        let lenient = try Policy(yaml: "name: lenient\nunmeasuredBoot: allowed\n")
        #expect(lenient.failures(of: quote, boot: unmeasured).isEmpty)
        #expect(try Policy(yaml: lenient.yaml) == lenient)
        #expect { try Policy(yaml: "name: both\nimage: required\nunmeasuredBoot: allowed\n") } throws: { error in
            (error as? PolicyError)?.reason.contains("no boot chain to check") == true
        }
    }

    @Test func aLegacyBootOrABIOSLogIsUnmeasured() {
        #expect(BootReference.unmeasuredReason(legacyBoot: true, quote: quote)?.contains("legacy BIOS") == true)
        #expect(BootReference.unmeasuredReason(legacyBoot: false, quote: quote) == nil, "the log records UEFI events")
    }

    @Test func learningKeepsTheApplicationsOrLeavesPCR4ToTheImage() throws {
        let learned = try Policy.learning(from: quote, name: "learned")
        #expect(learned.bootApplications == Set(applications.map(\.sha256)))
        #expect(learned.pcrs[.sha256]?.keys.sorted() == Array(0...7))
        #expect(try Policy(yaml: learned.yaml) == learned)

        #expect(throws: PolicyError.self) {
            try Policy.learning(
                from: quote, name: "other", following: image(allowing: [], loading: String(repeating: "cd", count: 32)))
        }
        let following = try Policy.learning(
            from: quote, name: "following", following: image(allowing: [applications[1].sha256]))
        #expect(following.image == .required)
        #expect(following.pcrs[.sha256]?.keys.sorted() == [0, 1, 2, 3, 5, 6, 7])
        #expect(following.bootApplications == [applications[0].sha256])
        #expect(
            following.failures(of: quote, boot: BootReference(image: image(allowing: [applications[1].sha256]))).isEmpty
        )
        #expect(try Policy(yaml: following.yaml) == following)
    }

    @Test func bootApplicationsMustBeSHA256Digests() {
        #expect { try Policy(yaml: "name: a\nbootApplications: [\"00\"]\n") } throws: { error in
            (error as? PolicyError)?.reason.contains("boot application") == true
        }
    }

    @Test func theReferenceKeptWithTheEvidenceReadsBack() throws {
        let reference = BootReference(image: image(allowing: applications.map(\.sha256)), unmeasured: "why")
        #expect(try BootReference(json: reference.json) == reference)
        #expect(throws: PolicyError.self) { try BootReference(json: Array("{\"image\": 3}".utf8)) }
    }
}
