import Octets
/// A UEFI_VARIABLE_DATA record (the data of EV_EFI_VARIABLE_* events).
public struct UEFIVariable: Sendable, Equatable {
    /// EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK, Boot####, BootOrder.
    public static let globalVariableGUID = EFIGUID.globalVariable.description
    /// EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx.
    public static let imageSecurityDatabaseGUID = EFIGUID.imageSecurityDatabase.description

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
        guid = EFIGUID(bytes: bytes[base..<(base + 16)]).description
        name = UTF16Text.decode(bytes[nameStart..<nameEnd])
        data = bytes[nameEnd..<(nameEnd + Int(dataLength))]
    }

    /// Whether this is the named variable of the Secure Boot configuration.
    func isVariable(_ wanted: String, guid wantedGUID: String) -> Bool { name == wanted && guid == wantedGUID }
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
        guard let parsed = EFIGUID(guid) else { preconditionFailure("malformed GUID \(guid)") }
        return parsed.bytes + LittleEndian.bytes(UInt64(nameUnits.count)) + LittleEndian.bytes(UInt64(data.count))
            + nameUnits.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] } + data
    }
}
