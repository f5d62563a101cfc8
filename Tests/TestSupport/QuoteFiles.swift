import Foundation
import TPM
import WardenCrypto

/// One quote's evidence as tpm2-tools files, and what `tpm2_checkquote` says about it.
public struct QuoteFiles {
    public var evidence: Evidence
    /// The hash `tpm2_checkquote -g` takes.
    public var hash: String

    public init(evidence: Evidence, hash: String = "sha256") {
        self.evidence = evidence
        self.hash = hash
    }

    /// The nonce the quote must carry.
    public var nonce: [UInt8] {
        get { evidence.nonce }
        set { evidence.nonce = newValue }
    }

    /// The swtpm quote `quote_NAME` with its AK `ak_AK`, and optionally the event log.
    public static func swtpm(_ name: String, ak: String, eventLog: Bool = false, hash: String = "sha256") throws
        -> QuoteFiles
    {
        let nonce = try SwtpmEvidence.nonceHex("quote_\(name)")
        return QuoteFiles(
            evidence: Evidence(
                attestationKey: try SwtpmEvidence.bytes("ak_\(ak).pub"),
                attest: try SwtpmEvidence.bytes("quote_\(name).msg"),
                signature: try SwtpmEvidence.bytes("quote_\(name).sig"),
                pcrs: try SwtpmEvidence.bytes("quote_\(name).pcrs"),
                eventLog: eventLog ? try SwtpmEvidence.bytes("eventlog.bin") : nil,
                nonce: Hex.decode(nonce) ?? []
            ),
            hash: hash
        )
    }

    /// The PCR values as given.
    public var pcrValues: PCRValues {
        get throws { try TPM2ToolsPCRFile.parse(evidence.pcrs) }
    }

    /// Whether `tpm2_checkquote` (with `-e` when there is a log) accepts the evidence.
    public func tpm2CheckquoteAccepts() throws -> Bool {
        let folder = try TestPaths.temporaryDirectory("checkquote")
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let url = folder.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return url.path
        }
        let isPEM = evidence.attestationKey.starts(with: Array("-----BEGIN".utf8))
        var arguments = [
            "-u", try write(isPEM ? "ak.pem" : "ak.pub", evidence.attestationKey),
            "-m", try write("quote.msg", evidence.attest), "-s", try write("quote.sig", evidence.signature),
            "-f", try write("quote.pcrs", evidence.pcrs), "-g", hash, "-q", Hex.encode(nonce),
        ]
        if let log = evidence.eventLog { arguments += ["-e", try write("eventlog.bin", log)] }
        defer { try? FileManager.default.removeItem(at: folder) }
        return try Command.run("tpm2_checkquote", arguments).status == 0
    }
}
