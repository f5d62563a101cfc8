import Octets
import TSS
import WardenCrypto

/// The PCR file `tpm2_quote -o` writes in its default `serialized` format: not TPM
/// marshaling but a little-endian dump of C structures (tpm2-tools `lib/pcr.c`):
/// a TPML_PCR_SELECTION (132 bytes), a 32-bit count N, then N TPML_DIGEST (532 bytes each)
/// holding the values in selection order, eight per list.
public enum TPM2ToolsPCRFile {
    static let selectionSize = 4 + 16 * 8
    static let digestListSize = 4 + 8 * (2 + 64)
    static let maxDigestLists = 32  // tpm2-tools' tpm2_pcrs holds at most TPM2_MAX_PCRS lists

    /// Parses the file, checking every count and size before use.
    public static func parse(_ bytes: [UInt8]) throws(PCRValuesError) -> PCRValues {
        guard bytes.count >= selectionSize + 4 else { throw PCRValuesError("PCR file truncated: \(bytes.count) bytes") }
        let bankCount = Int(LittleEndian.read(UInt32.self, bytes[...], at: 0))
        guard bankCount <= 16 else { throw PCRValuesError("PCR file declares \(bankCount) banks (at most 16)") }
        var banks: [PCRSelection.Bank] = []
        for slot in 0..<bankCount {
            let base = 4 + slot * 8
            let hash = TPMAlgorithmID(rawValue: LittleEndian.read(UInt16.self, bytes[...], at: base))
            let sizeOfSelect = Int(bytes[base + 2])
            guard sizeOfSelect <= 4 else {
                throw PCRValuesError("PCR file bank \(slot) has a \(sizeOfSelect)-byte bitmap (at most 4)")
            }
            let bitmap = bytes[(base + 3)..<(base + 3 + sizeOfSelect)]
            let pcrs = (0..<sizeOfSelect * 8).filter { bitmap[bitmap.startIndex + $0 / 8] & (1 << ($0 % 8)) != 0 }
            banks.append(PCRSelection.Bank(hash: hash, pcrs: pcrs))
        }
        let selection = PCRSelection(banks)
        let listCount = Int(LittleEndian.read(UInt32.self, bytes[...], at: selectionSize))
        guard listCount <= maxDigestLists else {
            throw PCRValuesError("PCR file declares \(listCount) digest lists (at most \(maxDigestLists))")
        }
        let expectedSize = selectionSize + 4 + listCount * digestListSize
        guard bytes.count == expectedSize else {
            throw PCRValuesError("PCR file has \(bytes.count) bytes; \(listCount) digest lists need \(expectedSize)")
        }
        var values: [[UInt8]] = []
        for list in 0..<listCount {
            let base = selectionSize + 4 + list * digestListSize
            let count = Int(LittleEndian.read(UInt32.self, bytes[...], at: base))
            guard count <= 8 else {
                throw PCRValuesError("PCR file digest list \(list) declares \(count) digests (at most 8)")
            }
            for entry in 0..<count {
                let at = base + 4 + entry * 66
                let size = Int(LittleEndian.read(UInt16.self, bytes[...], at: at))
                guard size <= 64 else {
                    throw PCRValuesError("PCR file digest \(values.count) declares \(size) bytes (at most 64)")
                }
                values.append(Array(bytes[(at + 2)..<(at + 2 + size)]))
            }
        }
        return try PCRValues(selection: selection, values: values)
    }
}

extension TPM2ToolsPCRFile {
    /// Writes `values` in the same format, so `tpm2_checkquote -f` reads them.
    public static func serialize(_ values: PCRValues) throws(PCRValuesError) -> [UInt8] {
        let banks = values.selection.banks
        guard banks.count <= 16 else { throw PCRValuesError("\(banks.count) banks do not fit (at most 16)") }
        var out = LittleEndian.bytes(UInt32(banks.count))
        for bank in banks {
            guard let bitmap = bank.bitmap else { throw PCRValuesError("PCR index out of range in \(bank.hash)") }
            out +=
                LittleEndian.bytes(bank.hash.rawValue) + [UInt8(bitmap.count)] + bitmap
                + [UInt8](repeating: 0, count: 5 - bitmap.count)
        }
        out += [UInt8](repeating: 0, count: selectionSize - out.count)
        let lists = stride(from: 0, to: values.values.count, by: 8).map {
            Array(values.values[$0..<min($0 + 8, values.values.count)])
        }
        out += LittleEndian.bytes(UInt32(lists.count))
        for list in lists {
            var entry = LittleEndian.bytes(UInt32(list.count))
            for digest in list {
                entry +=
                    LittleEndian.bytes(UInt16(digest.count)) + digest + [UInt8](repeating: 0, count: 64 - digest.count)
            }
            out += entry + [UInt8](repeating: 0, count: digestListSize - entry.count)
        }
        return out
    }
}
