import ArgumentParser
import TPM
import TSS
import WardenCrypto

/// `warden quote …`
package struct QuoteCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "quote",
        abstract: "Work with TPM 2.0 quotes.",
        subcommands: [QuoteVerifyCommand.self]
    )

    package init() {}
}

/// `warden quote verify`: checks a quote made by `tpm2_quote`, in tpm2-tools' file formats.
struct QuoteVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a TPM quote (and optionally the event log behind it).",
        discussion: """
            Exit status: 0 when every check passes, 1 when the evidence is rejected, 2 when an \
            input cannot be read, 64 for usage errors.
            """
    )

    @Option(name: .customLong("ak-public"), help: "The AK: TPM2B_PUBLIC (tpm2_createak -u) or PEM.")
    var akPublic: String

    @Option(help: "The quoted TPMS_ATTEST (tpm2_quote -m).")
    var message: String

    @Option(help: "The TPMT_SIGNATURE (tpm2_quote -s).")
    var signature: String

    @Option(help: "The PCR values (tpm2_quote -o, serialized format).")
    var pcrs: String

    @Option(help: "The expected nonce, in hex. Required: the nonce check cannot be skipped.")
    var nonce: String

    @Option(help: "The firmware's event log (binary_bios_measurements) to replay against the quote.")
    var eventlog: String?

    @Flag(name: .customLong("allow-sha1"), help: "Accept SHA-1 signatures and PCR digests.")
    var allowSHA1 = false

    @Option(name: [.customShort("o"), .long], help: "Output: text, json or yaml.")
    var format: OutputFormat = .text

    func validate() throws {
        guard let bytes = Hex.decode(nonce), (1...64).contains(bytes.count) else {
            throw ValidationError("--nonce must be 1 to 64 bytes in hex")
        }
    }

    func run() throws {
        let evidence = Evidence(
            attestationKey: try InputFile.read(akPublic, as: "AK public key"),
            attest: try InputFile.read(message, as: "quote message"),
            signature: try InputFile.read(signature, as: "signature"),
            pcrs: try InputFile.read(pcrs, as: "PCR file"),
            eventLog: try eventlog.map { try InputFile.read($0, as: "event log") },
            nonce: Hex.decode(nonce) ?? []
        )
        let verdict = QuoteVerifier(allowSHA1: allowSHA1).verify(evidence)
        let report = QuoteReport(verdict)
        if !(try format.printed(report)) { print(report.text) }
        if case .rejected = verdict { throw ExitStatus.rejected }
    }
}
