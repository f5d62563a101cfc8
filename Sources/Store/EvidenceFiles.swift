import WardenCrypto

/// An attestation's raw evidence as tpm2-tools' own files, so that `tpm2_checkquote -u ak.pub
/// -m quote.msg -s quote.sig -f quote.pcrs -q nonce` re-checks it; and the digest of those
/// files that the attestation's audit record carries.
public struct EvidenceFiles: Sendable, Equatable {
    /// The file names, in digest order (`eventlog.bin` only when there was an event log,
    /// `boot-reference.json` only when the verdict compared the boot with Warden's own
    /// reference: the machine's image, or a boot that measured no kernel).
    public static let names = ["ak.pub", "quote.msg", "quote.sig", "quote.pcrs", "eventlog.bin", "nonce", "boot-reference.json"]
    /// The files only some attestations have.
    public static let optionalNames: Set<String> = ["eventlog.bin", "boot-reference.json"]

    /// The AK's TPM2B_PUBLIC.
    public let attestationKeyPublic: [UInt8]
    /// TPMS_ATTEST as the TPM signed it.
    public let attest: [UInt8]
    /// TPMT_SIGNATURE.
    public let signature: [UInt8]
    /// tpm2-tools' serialized PCR values.
    public let pcrs: [UInt8]
    /// The TCG event log, when the machine sent one.
    public let eventLog: [UInt8]?
    /// The qualifying data the quote had to carry.
    public let nonce: [UInt8]
    /// The boot reference the verdict compared the evidence with (JSON), when there was one.
    public let bootReference: [UInt8]?

    public init(attestationKeyPublic: [UInt8], attest: [UInt8], signature: [UInt8], pcrs: [UInt8], eventLog: [UInt8]?, nonce: [UInt8], bootReference: [UInt8]? = nil) {
        self.attestationKeyPublic = attestationKeyPublic
        self.attest = attest
        self.signature = signature
        self.pcrs = pcrs
        self.eventLog = eventLog
        self.nonce = nonce
        self.bootReference = bootReference
    }

    /// Reassembles the evidence from files by name; nil when a required one is missing.
    public init?(files: [String: [UInt8]]) {
        guard let ak = files["ak.pub"], let attest = files["quote.msg"], let signature = files["quote.sig"],
              let pcrs = files["quote.pcrs"], let nonce = files["nonce"]
        else { return nil }
        self.init(attestationKeyPublic: ak, attest: attest, signature: signature, pcrs: pcrs, eventLog: files["eventlog.bin"], nonce: nonce,
                  bootReference: files["boot-reference.json"])
    }

    /// The files, in ``names`` order.
    public var files: [(name: String, contents: [UInt8])] {
        let contents: [[UInt8]?] = [attestationKeyPublic, attest, signature, pcrs, eventLog, nonce, bootReference]
        return zip(Self.names, contents).compactMap { name, bytes in bytes.map { (name, $0) } }
    }

    /// SHA-256 over every file present, in ``names`` order, each as its name's length
    /// (4 bytes big-endian), the name, its length (8 bytes big-endian) and its bytes.
    public var digest: [UInt8] {
        var hasher = Hasher(.sha256)
        for (name, contents) in files {
            let nameBytes = Array(name.utf8)
            hasher.update(bigEndian(UInt64(nameBytes.count), bytes: 4) + nameBytes + bigEndian(UInt64(contents.count), bytes: 8))
            hasher.update(contents)
        }
        return hasher.finalize()
    }

    private func bigEndian(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> UInt64($0 * 8)) }
    }
}
