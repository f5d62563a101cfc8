/// One attestation's evidence, byte for byte as the TPM and the agent produced it; nothing in
/// it is trusted yet. The agent API decodes a request into it, ``QuoteVerifier`` checks it
/// (and is the one place its TPM structures and PCR values are parsed), the store keeps it as
/// it came, and an auditor reads it back from an export to judge it again.
public struct Evidence: Sendable, Equatable {
    /// The AK's TPM2B_PUBLIC (`tpm2_createak -u`) or a PEM public key. An agent names its AK
    /// by the id it was given at activation; the server sets these bytes from its store.
    public var attestationKey: [UInt8]
    /// The TPMS_ATTEST bytes exactly as the TPM signed them (`tpm2_quote -m`).
    public var attest: [UInt8]
    /// The TPMT_SIGNATURE (`tpm2_quote -s`).
    public var signature: [UInt8]
    /// The PCR values the quote is claimed to cover, in tpm2-tools' serialized format
    /// (`tpm2_quote -o`).
    public var pcrs: [UInt8]
    /// The firmware's event log (`binary_bios_measurements`), if supplied.
    public var eventLog: [UInt8]?
    /// The nonce the verifier issued: the quote's `extraData` must equal it (1 to 64 bytes).
    public var nonce: [UInt8]
    /// The agent reports that Warden booted the machine by legacy BIOS (its kernel command
    /// line says so), whose firmware measures neither kernel nor initrd.
    public var legacyBIOS: Bool

    public init(
        attestationKey: [UInt8], attest: [UInt8], signature: [UInt8], pcrs: [UInt8], eventLog: [UInt8]? = nil,
        nonce: [UInt8],
        legacyBIOS: Bool = false
    ) {
        self.attestationKey = attestationKey
        self.attest = attest
        self.signature = signature
        self.pcrs = pcrs
        self.eventLog = eventLog
        self.nonce = nonce
        self.legacyBIOS = legacyBIOS
    }

    /// The nonce lengths a quote's qualifying data can carry (a TPM2B_DATA holds at most 64
    /// bytes here; an empty one would skip the check).
    public static let nonceSizes = 1...64
}
