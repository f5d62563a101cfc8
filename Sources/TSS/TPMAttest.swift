import CTSS2

/// A decoded TPMS_ATTEST: what a TPM signs when it quotes, certifies or reports time.
///
/// Every attestation type's body is checked; only a quote's is kept, since Warden never
/// accepts anything else as evidence.
public struct TPMAttest: Sendable, Equatable {
    /// TPM_ST_ATTEST_QUOTE.
    public static let quoteType: UInt16 = 0x8018
    /// TPM_GENERATED_VALUE, which a TPM puts only in structures it generated itself.
    public static let generatedMagic: UInt32 = WARDEN_TPM2_GENERATED_VALUE

    /// The TPM's clock when it signed (TPMS_CLOCK_INFO).
    public struct ClockInfo: Sendable, Equatable, Codable {
        public let clock: UInt64
        public let resetCount: UInt32
        public let restartCount: UInt32
        public let safe: Bool

        public init(clock: UInt64, resetCount: UInt32, restartCount: UInt32, safe: Bool) {
            self.clock = clock
            self.resetCount = resetCount
            self.restartCount = restartCount
            self.safe = safe
        }
    }

    /// The body of a quote (TPMS_QUOTE_INFO).
    public struct QuoteInfo: Sendable, Equatable {
        public let selection: PCRSelection
        public let pcrDigest: [UInt8]

        public init(selection: PCRSelection, pcrDigest: [UInt8]) {
            self.selection = selection
            self.pcrDigest = pcrDigest
        }
    }

    public let magic: UInt32
    public let type: UInt16
    public let qualifiedSigner: [UInt8]
    public let extraData: [UInt8]
    public let clockInfo: ClockInfo
    public let firmwareVersion: UInt64
    /// The quote body when `type` is TPM_ST_ATTEST_QUOTE, else nil.
    public let quote: QuoteInfo?

    public init(
        magic: UInt32 = TPMAttest.generatedMagic, type: UInt16 = TPMAttest.quoteType,
        qualifiedSigner: [UInt8], extraData: [UInt8], clockInfo: ClockInfo,
        firmwareVersion: UInt64, quote: QuoteInfo?
    ) {
        self.magic = magic
        self.type = type
        self.qualifiedSigner = qualifiedSigner
        self.extraData = extraData
        self.clockInfo = clockInfo
        self.firmwareVersion = firmwareVersion
        self.quote = quote
    }

    /// Decodes a marshaled TPMS_ATTEST (`tpm2_quote -m`), field by field through libtss2-mu.
    /// Every byte must belong to the structure.
    public static func decode(_ bytes: [UInt8]) throws(TPMDecodingError) -> TPMAttest {
        var reader = MUReader(bytes, structure: "TPMS_ATTEST")
        var magic: UInt32 = 0
        var type: UInt16 = 0
        var signer = TPM2B_NAME()
        var extraData = TPM2B_DATA()
        var clock = TPMS_CLOCK_INFO()
        var firmware: UInt64 = 0
        try reader.read("magic", into: &magic, Tss2_MU_UINT32_Unmarshal)
        try reader.read("type", into: &type, Tss2_MU_UINT16_Unmarshal)
        try reader.read("qualifiedSigner", into: &signer, Tss2_MU_TPM2B_NAME_Unmarshal)
        try reader.read("extraData", into: &extraData, Tss2_MU_TPM2B_DATA_Unmarshal)
        try reader.read("clockInfo", into: &clock, Tss2_MU_TPMS_CLOCK_INFO_Unmarshal)
        try reader.read("firmwareVersion", into: &firmware, Tss2_MU_UINT64_Unmarshal)
        var quote: QuoteInfo?
        if type == quoteType {
            var info = TPMS_QUOTE_INFO()
            try reader.read("quote info", into: &info, Tss2_MU_TPMS_QUOTE_INFO_Unmarshal)
            quote = QuoteInfo(
                selection: PCRSelection(info.pcrSelect),
                pcrDigest: prefixBytes(of: info.pcrDigest.buffer, info.pcrDigest.size))
        } else {
            var body = TPMU_ATTEST()
            try reader.read("attested body of type 0x\(String(type, radix: 16))", into: &body) {
                buffer, size, offset, out in
                Tss2_MU_TPMU_ATTEST_Unmarshal(buffer, size, offset, UInt32(type), out)
            }
        }
        try reader.requireEnd()
        return TPMAttest(
            magic: magic, type: type,
            qualifiedSigner: prefixBytes(of: signer.name, signer.size),
            extraData: prefixBytes(of: extraData.buffer, extraData.size),
            clockInfo: ClockInfo(
                clock: clock.clock, resetCount: clock.resetCount, restartCount: clock.restartCount,
                safe: clock.safe != 0),
            firmwareVersion: firmware, quote: quote
        )
    }

    /// Reads only `magic` and `type`, to say what a structure that fails to decode claims to be.
    public static func decodeHeader(_ bytes: [UInt8]) -> (magic: UInt32, type: UInt16)? {
        var reader = MUReader(bytes, structure: "TPMS_ATTEST")
        var magic: UInt32 = 0
        var type: UInt16 = 0
        do {
            try reader.read("magic", into: &magic, Tss2_MU_UINT32_Unmarshal)
            try reader.read("type", into: &type, Tss2_MU_UINT16_Unmarshal)
        } catch {
            return nil
        }
        return (magic, type)
    }

    /// Unwraps a marshaled TPM2B_ATTEST (size-prefixed, as TPM2_Quote returns it) to the
    /// TPMS_ATTEST bytes it carries; those bytes are what the signature covers.
    public static func unwrap(tpm2b bytes: [UInt8]) throws(TPMDecodingError) -> [UInt8] {
        var reader = MUReader(bytes, structure: "TPM2B_ATTEST")
        var attest = TPM2B_ATTEST()
        try reader.read("size", into: &attest, Tss2_MU_TPM2B_ATTEST_Unmarshal)
        try reader.requireEnd()
        return prefixBytes(of: attest.attestationData, attest.size)
    }

    /// Marshals a quote back to TPMS_ATTEST bytes (for software identities and tests).
    public func marshaled() throws(TPMDecodingError) -> [UInt8] {
        var writer = MUWriter(structure: "TPMS_ATTEST")
        var signer = TPM2B_NAME()
        signer.size = try fill(&signer.name, with: qualifiedSigner, structure: "TPM2B_NAME")
        var data = TPM2B_DATA()
        data.size = try fill(&data.buffer, with: extraData, structure: "TPM2B_DATA")
        var clock = TPMS_CLOCK_INFO(
            clock: clockInfo.clock, resetCount: clockInfo.resetCount, restartCount: clockInfo.restartCount,
            safe: clockInfo.safe ? 1 : 0)
        try writer.write(magic, Tss2_MU_UINT32_Marshal)
        try writer.write(type, Tss2_MU_UINT16_Marshal)
        try writer.write(&signer, Tss2_MU_TPM2B_NAME_Marshal)
        try writer.write(&data, Tss2_MU_TPM2B_DATA_Marshal)
        try writer.write(&clock, Tss2_MU_TPMS_CLOCK_INFO_Marshal)
        try writer.write(firmwareVersion, Tss2_MU_UINT64_Marshal)
        if let quote {
            var info = TPMS_QUOTE_INFO()
            info.pcrSelect = try quote.selection.cValue()
            info.pcrDigest.size = try fill(&info.pcrDigest.buffer, with: quote.pcrDigest, structure: "TPM2B_DIGEST")
            try writer.write(&info, Tss2_MU_TPMS_QUOTE_INFO_Marshal)
        }
        return writer.bytes
    }
}
