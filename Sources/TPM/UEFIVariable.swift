import Octets
import WardenCrypto
/// A UEFI_VARIABLE_DATA record (the data of EV_EFI_VARIABLE_* events).
public struct UEFIVariable: Sendable, Equatable {
    /// EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK, Boot####, BootOrder.
    public static let globalVariableGUID = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
    /// EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx.
    public static let imageSecurityDatabaseGUID = "d719b2cb-3d3a-4596-a3bc-dad00e67656f"

    public let guid: String
    public let name: String
    public let data: ArraySlice<UInt8>

    /// Parses the record; nil when a declared length exceeds the bytes present.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= 32 else { return nil }
        let base = bytes.startIndex
        let nameLength = LittleEndian.read(UInt64.self, bytes, at: 16)
        let dataLength = LittleEndian.read(UInt64.self, bytes, at: 24)
        let available = UInt64(bytes.count - 32)
        guard nameLength <= available / 2, dataLength <= available - nameLength * 2 else { return nil }
        let nameStart = base + 32
        let nameEnd = nameStart + Int(nameLength) * 2
        guard UInt64(nameEnd - nameStart) + dataLength == available else { return nil }
        guid = GUID.format(bytes[base..<(base + 16)])
        name = UTF16Text.decode(bytes[nameStart..<nameEnd])
        data = bytes[nameEnd..<(nameEnd + Int(dataLength))]
    }

    /// Whether this is the named variable of the Secure Boot configuration.
    func isVariable(_ wanted: String, guid wantedGUID: String) -> Bool { name == wanted && guid == wantedGUID }
}

/// EFI GUIDs in their registry form (first three fields little-endian).
enum GUID {
    static func format(_ b: ArraySlice<UInt8>) -> String {
        let a = Array(b)
        let parts = [
            Hex.encode(a[0..<4].reversed()), Hex.encode(a[4..<6].reversed()), Hex.encode(a[6..<8].reversed()),
            Hex.encode(a[8..<10]), Hex.encode(a[10..<16]),
        ]
        return parts.joined(separator: "-")
    }
}

/// UTF-16LE text as firmware writes it, stopping at the first NUL.
enum UTF16Text {
    static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var units: [UInt16] = []
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            let unit = UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8
            if unit == 0 { break }
            units.append(unit)
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }
}

extension UEFIVariable {
    /// Encodes a UEFI_VARIABLE_DATA record (for building logs); `guid` in registry form.
    public static func encode(guid: String, name: String, data: [UInt8]) -> [UInt8] {
        let nameUnits = Array(name.utf16)
        return GUID.parse(guid) + LittleEndian.bytes(UInt64(nameUnits.count)) + LittleEndian.bytes(UInt64(data.count))
            + nameUnits.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] } + data
    }
}

extension GUID {
    /// The 16 bytes of a registry-form GUID (precondition: well formed).
    static func parse(_ text: String) -> [UInt8] {
        let fields = text.split(separator: "-").map { Hex.decode(String($0)) ?? [] }
        precondition(fields.map(\.count) == [4, 2, 2, 2, 6], "malformed GUID \(text)")
        return fields[0].reversed() + fields[1].reversed() + fields[2].reversed() + fields[3] + fields[4]
    }
}
