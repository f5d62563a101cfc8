/// A TCG PC Client event type (Platform Firmware Profile, section 10.4.1).
public struct EventType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let prebootCert = EventType(rawValue: 0x0000_0000)
    public static let postCode = EventType(rawValue: 0x0000_0001)
    public static let noAction = EventType(rawValue: 0x0000_0003)
    public static let separator = EventType(rawValue: 0x0000_0004)
    public static let action = EventType(rawValue: 0x0000_0005)
    public static let eventTag = EventType(rawValue: 0x0000_0006)
    public static let sCRTMContents = EventType(rawValue: 0x0000_0007)
    public static let sCRTMVersion = EventType(rawValue: 0x0000_0008)
    public static let cpuMicrocode = EventType(rawValue: 0x0000_0009)
    public static let platformConfigFlags = EventType(rawValue: 0x0000_000A)
    public static let tableOfDevices = EventType(rawValue: 0x0000_000B)
    public static let compactHash = EventType(rawValue: 0x0000_000C)
    public static let ipl = EventType(rawValue: 0x0000_000D)
    public static let iplPartitionData = EventType(rawValue: 0x0000_000E)
    public static let nonhostCode = EventType(rawValue: 0x0000_000F)
    public static let nonhostConfig = EventType(rawValue: 0x0000_0010)
    public static let nonhostInfo = EventType(rawValue: 0x0000_0011)
    public static let omitBootDeviceEvents = EventType(rawValue: 0x0000_0012)
    public static let efiVariableDriverConfig = EventType(rawValue: 0x8000_0001)
    public static let efiVariableBoot = EventType(rawValue: 0x8000_0002)
    public static let efiBootServicesApplication = EventType(rawValue: 0x8000_0003)
    public static let efiBootServicesDriver = EventType(rawValue: 0x8000_0004)
    public static let efiRuntimeServicesDriver = EventType(rawValue: 0x8000_0005)
    public static let efiGPTEvent = EventType(rawValue: 0x8000_0006)
    public static let efiAction = EventType(rawValue: 0x8000_0007)
    public static let efiPlatformFirmwareBlob = EventType(rawValue: 0x8000_0008)
    public static let efiHandoffTables = EventType(rawValue: 0x8000_0009)
    public static let efiPlatformFirmwareBlob2 = EventType(rawValue: 0x8000_000A)
    public static let efiHandoffTables2 = EventType(rawValue: 0x8000_000B)
    public static let efiVariableBoot2 = EventType(rawValue: 0x8000_000C)
    public static let efiGPTEvent2 = EventType(rawValue: 0x8000_000D)
    public static let efiHCRTMEvent = EventType(rawValue: 0x8000_0010)
    public static let efiVariableAuthority = EventType(rawValue: 0x8000_00E0)
    public static let efiSPDMFirmwareBlob = EventType(rawValue: 0x8000_00E1)
    public static let efiSPDMFirmwareConfig = EventType(rawValue: 0x8000_00E2)

    private static let names: [UInt32: String] = [
        0x0: "EV_PREBOOT_CERT", 0x1: "EV_POST_CODE", 0x2: "EV_UNUSED", 0x3: "EV_NO_ACTION", 0x4: "EV_SEPARATOR",
        0x5: "EV_ACTION", 0x6: "EV_EVENT_TAG", 0x7: "EV_S_CRTM_CONTENTS", 0x8: "EV_S_CRTM_VERSION",
        0x9: "EV_CPU_MICROCODE", 0xA: "EV_PLATFORM_CONFIG_FLAGS", 0xB: "EV_TABLE_OF_DEVICES", 0xC: "EV_COMPACT_HASH",
        0xD: "EV_IPL", 0xE: "EV_IPL_PARTITION_DATA", 0xF: "EV_NONHOST_CODE", 0x10: "EV_NONHOST_CONFIG",
        0x11: "EV_NONHOST_INFO", 0x12: "EV_OMIT_BOOT_DEVICE_EVENTS",
        0x8000_0000: "EV_EFI_EVENT_BASE", 0x8000_0001: "EV_EFI_VARIABLE_DRIVER_CONFIG",
        0x8000_0002: "EV_EFI_VARIABLE_BOOT",
        0x8000_0003: "EV_EFI_BOOT_SERVICES_APPLICATION", 0x8000_0004: "EV_EFI_BOOT_SERVICES_DRIVER",
        0x8000_0005: "EV_EFI_RUNTIME_SERVICES_DRIVER", 0x8000_0006: "EV_EFI_GPT_EVENT", 0x8000_0007: "EV_EFI_ACTION",
        0x8000_0008: "EV_EFI_PLATFORM_FIRMWARE_BLOB", 0x8000_0009: "EV_EFI_HANDOFF_TABLES",
        0x8000_000A: "EV_EFI_PLATFORM_FIRMWARE_BLOB2", 0x8000_000B: "EV_EFI_HANDOFF_TABLES2",
        0x8000_000C: "EV_EFI_VARIABLE_BOOT2", 0x8000_000D: "EV_EFI_GPT_EVENT2", 0x8000_0010: "EV_EFI_HCRTM_EVENT",
        0x8000_00E0: "EV_EFI_VARIABLE_AUTHORITY", 0x8000_00E1: "EV_EFI_SPDM_FIRMWARE_BLOB",
        0x8000_00E2: "EV_EFI_SPDM_FIRMWARE_CONFIG",
    ]

    /// The spec's name (`EV_SEPARATOR`), or the hex value for unknown types.
    public var description: String { Self.names[rawValue] ?? "0x" + String(rawValue, radix: 16) }
}
