import CTSS2

/// Which PCRs of which banks a quote covers or a set of values holds (TPML_PCR_SELECTION),
/// in the order the TPM processes them: banks in list order, PCRs ascending within a bank.
public struct PCRSelection: Sendable, Hashable, CustomStringConvertible {
    /// One bank's selected PCR indices, ascending.
    public struct Bank: Sendable, Hashable {
        public let hash: TPMAlgorithmID
        public let pcrs: [Int]

        public init(hash: TPMAlgorithmID, pcrs: [Int]) {
            self.hash = hash
            self.pcrs = Array(Set(pcrs)).sorted()
        }

        /// The pcrSelect bitmap: 3 bytes, as TPMs use for 24 PCRs, or 4 when a PCR ≥ 24 is
        /// selected; nil when an index is outside 0–31.
        public var bitmap: [UInt8]? {
            guard pcrs.allSatisfy({ (0..<32).contains($0) }) else { return nil }
            var bitmap = [UInt8](repeating: 0, count: (pcrs.last ?? 0) >= 24 ? 4 : 3)
            for pcr in pcrs { bitmap[pcr / 8] |= 1 << (pcr % 8) }
            return bitmap
        }
    }

    /// Banks in order.
    public let banks: [Bank]

    public init(_ banks: [Bank]) { self.banks = banks }

    /// Total number of selected PCRs over all banks.
    public var count: Int { banks.reduce(0) { $0 + $1.pcrs.count } }

    /// `sha256:0,1,2+sha1:7`, the notation tpm2-tools uses.
    public var description: String {
        banks.map { "\($0.hash):" + $0.pcrs.map(String.init).joined(separator: ",") }.joined(separator: "+")
    }

    /// Decodes a marshaled TPML_PCR_SELECTION (what TPM2_PCR_Read returns) through libtss2-mu.
    public static func decode(marshaled bytes: [UInt8]) throws(TPMDecodingError) -> PCRSelection {
        var reader = MUReader(bytes, structure: "TPML_PCR_SELECTION")
        var list = TPML_PCR_SELECTION()
        try reader.read("selection", into: &list, Tss2_MU_TPML_PCR_SELECTION_Unmarshal)
        try reader.requireEnd()
        return PCRSelection(list)
    }

    /// Converts a decoded (or memory-dumped) C selection list; its count must be checked first.
    init(_ list: TPML_PCR_SELECTION) {
        let count = min(Int(list.count), Int(TPM2_NUM_PCR_BANKS))
        banks = withUnsafeBytes(of: list.pcrSelections) { raw in
            raw.bindMemory(to: TPMS_PCR_SELECTION.self).prefix(count).map { entry in
                let bitmap = prefixBytes(of: entry.pcrSelect, UInt16(entry.sizeofSelect))
                let pcrs = (0..<bitmap.count * 8).filter { bitmap[$0 / 8] & (1 << ($0 % 8)) != 0 }
                return Bank(hash: TPMAlgorithmID(rawValue: entry.hash), pcrs: pcrs)
            }
        }
    }

    /// The C form, with each bank's ``Bank/bitmap``.
    func cValue() throws(TPMDecodingError) -> TPML_PCR_SELECTION {
        guard banks.count <= Int(TPM2_NUM_PCR_BANKS) else {
            throw TPMDecodingError("TPML_PCR_SELECTION", "\(banks.count) banks exceed \(TPM2_NUM_PCR_BANKS)")
        }
        var list = TPML_PCR_SELECTION()
        list.count = UInt32(banks.count)
        try withUnsafeMutableBytes(of: &list.pcrSelections) { raw throws(TPMDecodingError) in
            let entries = raw.bindMemory(to: TPMS_PCR_SELECTION.self)
            for (slot, bank) in banks.enumerated() {
                guard let bitmap = bank.bitmap else {
                    throw TPMDecodingError("TPML_PCR_SELECTION", "PCR index out of range in \(bank.hash)")
                }
                var entry = TPMS_PCR_SELECTION()
                entry.hash = bank.hash.rawValue
                entry.sizeofSelect = UInt8(try fill(&entry.pcrSelect, with: bitmap, structure: "TPMS_PCR_SELECTION"))
                entries[slot] = entry
            }
        }
        return list
    }
}
