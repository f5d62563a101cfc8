import TSS
import WardenAPI

/// What a judgement knows besides the evidence: the machine as the store had it when the quote
/// arrived, and what Warden itself expects of its boot. The server keeps it with the evidence
/// (`judgement.json`), so that an auditor judges the evidence again to the very same verdict.
public struct JudgementInputs: Sendable, Equatable, Codable {
    /// The policy a machine is held to when its quote arrives.
    public enum PolicyStanding: Sendable, Equatable, Codable {
        /// None yet: the first passing attestation pins what it measured (trust on first use).
        case firstUse
        /// The machine's policy names one that does not exist.
        case missing(name: String)
        /// The latest version of the machine's policy.
        case version(id: Int64, name: String, version: Int)
    }

    /// The machine's image, as a policy that requires it compares the boot with.
    public enum ImageStanding: Sendable, Equatable, Codable {
        /// What booting the image measures.
        case measured(reference: BootReference.Image)
        /// Why nothing can say what booting the image measures.
        case unmeasured(reason: String)
    }

    /// The version of this record's format.
    public var format = 1
    /// The machine's name (a first-use pin is named after it).
    public var machineName: String
    public var machineState: MachineState
    /// Why the evidence's nonce is not one to accept (used, expired, never issued to this
    /// machine), or nil when it is.
    public var nonceProblem: String?
    /// The TPM clock of the machine's last passing attestation.
    public var lastClock: TPMAttest.ClockInfo?
    /// The TPM reset count of a boot an earlier attestation reported as a legacy BIOS boot.
    public var legacyBootResetCount: UInt32?
    public var policy: PolicyStanding
    /// The machine's image, read when its policy requires it and the machine has one.
    public var image: ImageStanding?

    public init(
        machineName: String, machineState: MachineState, nonceProblem: String? = nil,
        lastClock: TPMAttest.ClockInfo? = nil,
        legacyBootResetCount: UInt32? = nil, policy: PolicyStanding, image: ImageStanding? = nil
    ) {
        self.machineName = machineName
        self.machineState = machineState
        self.nonceProblem = nonceProblem
        self.lastClock = lastClock
        self.legacyBootResetCount = legacyBootResetCount
        self.policy = policy
        self.image = image
    }

    /// The inputs as stable JSON, as they are kept with the evidence: keys sorted, written by
    /// hand byte for byte as `JSONEncoder` writes them.
    public var json: [UInt8] { sortedJSON }

    /// Reads inputs kept with the evidence.
    public init(json: [UInt8]) throws(PolicyError) {
        self = try KeptJSON.decode(Self.self, json, what: "the judgement's inputs")
    }
}

extension JudgementInputs.PolicyStanding {
    /// As `Codable` writes an enum case: an object whose one member, the case, holds its values.
    fileprivate func write(to out: inout SortedJSONWriter) {
        out.beginObject()
        switch self {
        case .firstUse:
            out.key("firstUse")
            out.beginObject()
        case .missing(let name):
            out.key("missing")
            out.beginObject()
            out.key("name")
            out.string(name)
        case .version(let id, let name, let version):
            out.key("version")
            out.beginObject()
            out.key("id")
            out.integer(id)
            out.key("name")
            out.string(name)
            out.key("version")
            out.integer(version)
        }
        out.endObject()
        out.endObject()
    }
}

extension JudgementInputs.ImageStanding {
    /// As `Codable` writes an enum case; the image's reference as `KeptJSON` encodes it.
    fileprivate func write(to out: inout SortedJSONWriter) {
        out.beginObject()
        switch self {
        case .measured(let reference):
            out.key("measured")
            out.beginObject()
            out.key("reference")
            out.json(KeptJSON.encode(reference))
        case .unmeasured(let reason):
            out.key("unmeasured")
            out.beginObject()
            out.key("reason")
            out.string(reason)
        }
        out.endObject()
        out.endObject()
    }
}

extension JudgementInputs: SortedJSONWritable {
    /// Writes the inputs as `JSONEncoder` does with keys sorted and slashes unescaped.
    public func write(to out: inout SortedJSONWriter) {
        out.beginObject()
        out.key("format")
        out.integer(format)
        if let image {
            out.key("image")
            image.write(to: &out)
        }
        if let lastClock {
            out.key("lastClock")
            out.beginObject()
            out.key("clock")
            out.integer(lastClock.clock)
            out.key("resetCount")
            out.integer(lastClock.resetCount)
            out.key("restartCount")
            out.integer(lastClock.restartCount)
            out.key("safe")
            out.bool(lastClock.safe)
            out.endObject()
        }
        if let legacyBootResetCount {
            out.key("legacyBootResetCount")
            out.integer(legacyBootResetCount)
        }
        out.key("machineName")
        out.string(machineName)
        out.key("machineState")
        out.string(machineState.rawValue)
        if let nonceProblem {
            out.key("nonceProblem")
            out.string(nonceProblem)
        }
        out.key("policy")
        policy.write(to: &out)
        out.endObject()
    }
}
