import Foundation
import Octets
import TPM
import WardenCrypto

/// An attestation's evidence as files: tpm2-tools' own, so that `tpm2_checkquote -u ak.pub
/// -m quote.msg -s quote.sig -f quote.pcrs -q nonce` re-checks it, then what the verdict
/// compared the boot with and what it was judged on; and the digest of those files that the
/// attestation's audit record carries.
public struct EvidenceFiles: Sendable, Equatable {
    /// The file names, in digest order. Only some attestations have these:
    /// `eventlog.bin` when there was an event log, `boot-reference.json` when the verdict
    /// compared the boot with Warden's own reference (the machine's image, or a boot that
    /// measured no kernel), `legacy-bios` when the agent reported a legacy BIOS boot, and
    /// `judgement.json` — the inputs of the judgement — for every attestation Warden recorded
    /// since it kept them. Names are only ever added at the end, so digests of earlier
    /// evidence stay what their records say.
    public static let names = [
        "ak.pub", "quote.msg", "quote.sig", "quote.pcrs", "eventlog.bin", "nonce", "boot-reference.json", "legacy-bios",
        "judgement.json",
    ]
    /// The files only some attestations have.
    public static let optionalNames: Set<String> = [
        "eventlog.bin", "boot-reference.json", "legacy-bios", "judgement.json",
    ]
    /// What `legacy-bios` says.
    static let legacyBIOSMark = Array("the agent reported a legacy BIOS boot\n".utf8)

    /// The evidence itself.
    public let evidence: Evidence
    /// The boot reference the verdict compared the evidence with (JSON), when there was one.
    public let bootReference: [UInt8]?
    /// The judgement's inputs (JSON), when they were kept.
    public let judgement: [UInt8]?

    public init(evidence: Evidence, bootReference: [UInt8]? = nil, judgement: [UInt8]? = nil) {
        self.evidence = evidence
        self.bootReference = bootReference
        self.judgement = judgement
    }

    /// Reassembles the evidence from files by name; nil when a required one is missing.
    public init?(files: [String: [UInt8]]) {
        guard let ak = files["ak.pub"], let attest = files["quote.msg"], let signature = files["quote.sig"],
            let pcrs = files["quote.pcrs"], let nonce = files["nonce"]
        else { return nil }
        self.init(
            evidence: Evidence(
                attestationKey: ak, attest: attest, signature: signature, pcrs: pcrs, eventLog: files["eventlog.bin"],
                nonce: nonce,
                legacyBIOS: files["legacy-bios"] != nil),
            bootReference: files["boot-reference.json"], judgement: files["judgement.json"])
    }

    /// The files, in ``names`` order.
    public var files: [(name: String, contents: [UInt8])] {
        let contents: [[UInt8]?] = [
            evidence.attestationKey, evidence.attest, evidence.signature, evidence.pcrs, evidence.eventLog,
            evidence.nonce, bootReference,
            evidence.legacyBIOS ? Self.legacyBIOSMark : nil, judgement,
        ]
        return zip(Self.names, contents).compactMap { name, bytes in bytes.map { (name, $0) } }
    }

    /// SHA-256 over every file present, in ``names`` order, each as its name's length
    /// (4 bytes big-endian), the name, its length (8 bytes big-endian) and its bytes.
    public var digest: [UInt8] {
        var hasher = Hasher(.sha256)
        for (name, contents) in files {
            let nameBytes = Array(name.utf8)
            hasher.update(
                BigEndian.bytes(UInt32(nameBytes.count)) + nameBytes + BigEndian.bytes(UInt64(contents.count)))
            hasher.update(contents)
        }
        return hasher.finalize()
    }
}

extension EvidenceFiles {
    /// The evidence of an `attestation` row joined with its key's public area as `akPublic`
    /// and its event log as `eventLogBytes` (``SQLTransaction/attestationEventLog``).
    init(attestationRow row: SQLRow) {
        self.init(
            evidence: Evidence(
                attestationKey: [UInt8](row["akPublic"] as Data), attest: [UInt8](row["attest"] as Data),
                signature: [UInt8](row["signature"] as Data),
                pcrs: [UInt8](row["pcrs"] as Data), eventLog: (row["eventLogBytes"] as Data?).map { [UInt8]($0) },
                nonce: [UInt8](row["nonce"] as Data),
                legacyBIOS: row["legacyBIOS"]),
            bootReference: (row["bootReference"] as Data?).map { [UInt8]($0) },
            judgement: (row["judgement"] as Data?).map { [UInt8]($0) })
    }
}
