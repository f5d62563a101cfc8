import TPM
import TSS

/// The verdict on one attestation: pass or refuse, why, and what it pins. Made only by
/// ``judge(_:given:policy:verifier:)``, the one place Warden decides, which the server calls
/// on every quote and `warden audit verify` calls again on every exported one.
public struct Judgement: Sendable {
    /// Every class of refusal, in the order the checks run.
    public enum Refusal: String, Sendable, CaseIterable, Codable {
        /// The nonce is used, expired or was never issued to this machine.
        case nonce
        /// The machine is revoked or retired.
        case revoked
        /// The quote does not verify: key, signature, nonce, PCR values or event log.
        case evidence
        /// The TPM's reset, restart or clock counters went back since the last pass.
        case counters
        /// The machine's policy names one that does not exist.
        case missingPolicy
        /// The machine's policy version does not parse.
        case unreadablePolicy
        /// The policy requires the machine's image, and nothing says what booting it measures.
        case unmeasuredImage
        /// The quote falls short of the policy.
        case policy
        /// Trust on first use, but the boot measured no kernel: nothing worth pinning.
        case unmeasuredFirstUse
        /// Trust on first use, but the quote does not cover what a pin holds.
        case unpinnable

        /// Whether the evidence is recorded: a nonce or machine refused before judging the
        /// quote is a request anyone may replay, audited in bounded form instead.
        public var isRecorded: Bool { self != .nonce && self != .revoked }
    }

    /// Nil when the attestation passes.
    public let refusal: Refusal?
    /// Why it is refused, every reason; empty for a pass.
    public let reasons: [String]
    /// The quote, when it verified.
    public let quote: VerifiedQuote?
    /// The id of the policy version it was judged by.
    public let policyID: Int64?
    /// The policy a first passing attestation pins (trust on first use).
    public let pin: Policy?
    /// What the verdict compared the boot with (the image's measurements, an unmeasured boot).
    public let boot: BootReference

    public var passed: Bool { refusal == nil }

    /// The TPM clock a pass records: no later attestation may go back from it.
    public var clock: TPMAttest.ClockInfo? { passed ? quote?.clockInfo : nil }

    /// The TPM reset count of the boot the evidence reports as a legacy BIOS boot, once its
    /// quote verified: every later attestation of that boot is unmeasured.
    public let legacyBootResetCount: UInt32?

    private init(
        _ refusal: Refusal?, _ reasons: [String], quote: VerifiedQuote? = nil, policyID: Int64? = nil,
        pin: Policy? = nil,
        boot: BootReference = BootReference(), legacyBootResetCount: UInt32? = nil
    ) {
        self.refusal = refusal
        self.reasons = reasons
        self.quote = quote
        self.policyID = policyID
        self.pin = pin
        self.boot = boot
        self.legacyBootResetCount = legacyBootResetCount
    }
}

extension Judgement {
    /// Judges `evidence` given what the store knew (`inputs`) and the policy version
    /// `inputs.policy` names, as parsed (`policy`, nil when it names none). Pure: no store,
    /// no clock, no I/O. The checks run in ``Refusal``'s order and the first class that fails
    /// decides, with every reason of that class.
    public static func judge(
        _ evidence: Evidence, given inputs: JudgementInputs, policy: Result<Policy, PolicyError>?,
        verifier: QuoteVerifier = QuoteVerifier()
    ) -> Judgement {
        if let problem = inputs.nonceProblem { return Judgement(.nonce, [problem]) }
        if inputs.machineState.isOutOfService {
            // Retired machines are refused as revoked ones are, in the same words.
            return Judgement(.revoked, ["machine \(inputs.machineName) is revoked"])
        }
        let verdict = verifier.verify(evidence)
        guard case .verified(let quote) = verdict else {
            return Judgement(.evidence, verdict.failures.map(\.description))
        }
        let resetCount = quote.clockInfo.resetCount
        let legacyBoot = evidence.legacyBIOS ? resetCount : nil
        func judgement(
            _ refusal: Refusal?, _ reasons: [String], policyID: Int64? = nil, pin: Policy? = nil,
            boot: BootReference = BootReference()
        ) -> Judgement {
            Judgement(
                refusal, reasons, quote: quote, policyID: policyID, pin: pin, boot: boot,
                legacyBootResetCount: legacyBoot)
        }
        if let violation = ClockMonotonicity.violation(last: inputs.lastClock, current: quote.clockInfo) {
            return judgement(.counters, [violation])
        }
        let unmeasured = BootReference.unmeasuredReason(
            legacyBoot: evidence.legacyBIOS || inputs.legacyBootResetCount == resetCount, quote: quote)
        switch inputs.policy {
        case .missing(let name):
            return judgement(.missingPolicy, ["the machine's policy \(name) does not exist"])
        case .version(let id, let name, let version):
            let parsed: Policy
            switch policy ?? .failure(PolicyError("version \(version) of policy \(name) was not given to judge by")) {
            case .failure(let error): return judgement(.unreadablePolicy, [error.description], policyID: id)
            case .success(let given): parsed = given
            }
            var boot = BootReference(unmeasured: unmeasured)
            if parsed.image == .required, let image = inputs.image {
                switch image {
                case .unmeasured(let why): return judgement(.unmeasuredImage, [why], policyID: id)
                case .measured(let reference): boot.image = reference
                }
            }
            let failures = parsed.failures(of: quote, boot: boot).map(\.description)
            return judgement(failures.isEmpty ? nil : .policy, failures, policyID: id, boot: boot)
        case .firstUse:
            // Trust on first use pins what was measured; a boot that measured no kernel
            // proves nothing worth pinning, and only a policy may allow it.
            if let unmeasured {
                return judgement(
                    .unmeasuredFirstUse, ["\(unmeasured); with no policy, unmeasured boots are refused"],
                    boot: BootReference(unmeasured: unmeasured))
            }
            do {
                return judgement(
                    nil, [], pin: try Policy.pinning(quote, name: Policy.machinePolicyName(inputs.machineName)))
            } catch {
                return judgement(.unpinnable, [error.description])
            }
        }
    }
}
