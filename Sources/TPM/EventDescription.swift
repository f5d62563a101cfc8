import Octets
import WardenCrypto
/// Human-readable fields of an event's data, for display only: nothing here is trusted,
/// since most event data is not covered by the event's digest.
public struct EventDescription: Sendable, Equatable {
    /// Decoded fields in a fixed order, such as ("variable", "SecureBoot").
    public let fields: [(name: String, value: String)]

    public static func == (a: EventDescription, b: EventDescription) -> Bool {
        a.fields.elementsEqual(b.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    /// Decodes what can be decoded of `event`'s data; unknown or malformed data yields no fields.
    public init(_ event: LogEvent) {
        fields = Self.decode(event)
    }

    private static func decode(_ event: LogEvent) -> [(name: String, value: String)] {
        let data = event.data
        switch event.type {
        case .sCRTMVersion:
            return [("version", UTF16Text.decode(data))]
        case .efiAction, .action, .ipl, .postCode:
            return looksLikeText(data) ? [("text", ascii(data))] : []
        case .separator where data.count == 4:
            return [("value", "0x" + Hex.encode(data.reversed()))]
        case .efiPlatformFirmwareBlob where data.count == 16:
            return [("base", hex64(data, 0)), ("length", String(u64(data, 8)))]
        case .efiPlatformFirmwareBlob2:
            guard let size = data.first, data.count == 1 + Int(size) + 16 else { return [] }
            let start = data.startIndex + 1
            return [
                ("description", ascii(data[start..<(start + Int(size))])), ("base", hex64(data, 1 + Int(size))),
                ("length", String(u64(data, 9 + Int(size)))),
            ]
        case .efiVariableDriverConfig, .efiVariableBoot, .efiVariableBoot2, .efiVariableAuthority:
            guard let variable = UEFIVariable(data) else { return [] }
            var fields = [
                ("guid", variable.guid), ("variable", variable.name), ("dataSize", String(variable.data.count)),
            ]
            if variable.name == "SecureBoot" { fields.append(("enabled", variable.data.first == 1 ? "yes" : "no")) }
            return fields
        case .efiBootServicesApplication, .efiBootServicesDriver, .efiRuntimeServicesDriver:
            guard data.count >= 32 else { return [] }
            let pathLength = u64(data, 24)
            guard pathLength <= UInt64(data.count - 32) else { return [] }
            let path = data[(data.startIndex + 32)..<(data.startIndex + 32 + Int(pathLength))]
            return [
                ("imageBase", hex64(data, 0)), ("imageLength", String(u64(data, 8))),
                ("devicePath", DevicePath.describe(path)),
            ]
        case .efiGPTEvent:
            // UEFI_PARTITION_TABLE_HEADER (92 bytes), then UINT64 NumberOfPartitions.
            guard data.count >= 100 else { return [] }
            return [
                ("diskGUID", EFIGUID(bytes: data[(data.startIndex + 56)..<(data.startIndex + 72)]).description),
                ("partitions", String(u64(data, 92))),
            ]
        case .efiHandoffTables:
            guard data.count >= 8 else { return [] }
            return [("tables", String(u64(data, 0)))]
        case .efiHandoffTables2:
            guard let size = data.first, data.count >= 1 + Int(size) else { return [] }
            return [("description", ascii(data[(data.startIndex + 1)..<(data.startIndex + 1 + Int(size))]))]
        case .eventTag:
            guard data.count >= 8 else { return [] }
            return [
                ("taggedEventID", "0x" + String(u32(data, 0), radix: 16)), ("taggedEventSize", String(u32(data, 4))),
            ]
        case .noAction:
            let signature = ascii(data.prefix(16))
            if signature.hasPrefix("StartupLocality"), let locality = data.last {
                return [("startupLocality", String(locality))]
            }
            return signature.isEmpty ? [] : [("signature", signature)]
        default:
            return []
        }
    }

    private static func looksLikeText(_ data: ArraySlice<UInt8>) -> Bool {
        !data.isEmpty && data.allSatisfy { $0 == 0 || (0x20..<0x7f).contains($0) || $0 == 0x0a }
    }

    private static func ascii(_ data: ArraySlice<UInt8>) -> String {
        String(
            decoding: data.prefix { $0 != 0 }.map { (0x20..<0x7f).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self
        )
    }

    private static func u64(_ data: ArraySlice<UInt8>, _ offset: Int) -> UInt64 {
        LittleEndian.read(UInt64.self, data, at: offset)
    }

    private static func u32(_ data: ArraySlice<UInt8>, _ offset: Int) -> UInt32 {
        LittleEndian.read(UInt32.self, data, at: offset)
    }

    private static func hex64(_ data: ArraySlice<UInt8>, _ offset: Int) -> String {
        "0x" + String(u64(data, offset), radix: 16)
    }
}

/// A short text form of an EFI device path: file paths as text, other nodes as type/subtype.
enum DevicePath {
    static func describe(_ path: ArraySlice<UInt8>) -> String {
        var parts: [String] = []
        var index = path.startIndex
        while index + 4 <= path.endIndex, parts.count < 32 {
            let type = path[index], subtype = path[index + 1]
            let length = Int(path[index + 2]) | Int(path[index + 3]) << 8
            guard length >= 4, index + length <= path.endIndex else { break }
            if type == 0x7f { break }
            let body = path[(index + 4)..<(index + length)]
            if type == 4, subtype == 4 {
                parts.append(UTF16Text.decode(body))
            } else {
                parts.append("node(\(type),\(subtype))")
            }
            index += length
        }
        return parts.joined(separator: "/")
    }
}
