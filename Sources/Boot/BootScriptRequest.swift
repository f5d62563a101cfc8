import Octets

/// What iPXE says about itself when it asks for its script:
/// `GET /boot.ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}&arch=${buildarch}`.
/// Values are checked, never trusted: a MAC must be six hex pairs, a UUID the SMBIOS form;
/// anything else counts as absent.
public struct BootScriptRequest: Sendable, Equatable {
    /// Lowercase `aa:bb:cc:dd:ee:ff`.
    public let mac: String?
    /// Lowercase SMBIOS UUID (`8-4-4-4-12` hex digits).
    public let uuid: String?
    /// iPXE's `platform`: `pcbios` or `efi`.
    public let platform: String?
    /// iPXE's `buildarch`: `x86_64`, `i386`, `arm64`.
    public let arch: String?
    /// The address the request came from.
    public let client: String
    /// `http://ADDRESS:PORT` the request came to: where the script's files are fetched
    /// (Debian's 2019 iPXE does not resolve a URL without a scheme).
    public let base: String

    /// Whether the request names a machine at all.
    public var identifiesMachine: Bool { mac != nil || uuid != nil }

    /// Whether the firmware that loaded iPXE was legacy BIOS (which measures no kernel).
    public var isLegacyBIOS: Bool { platform == "pcbios" }

    public init(mac: String?, uuid: String?, platform: String?, arch: String?, client: String, base: String) {
        self.mac = mac.flatMap(MACAddress.init).map(\.description)
        self.uuid = uuid.flatMap(Self.normalisedUUID)
        self.platform = platform.flatMap { Self.word($0) }
        self.arch = arch.flatMap { Self.word($0) }
        self.client = client
        self.base = base
    }

    /// Reads the query string of a request target (`/boot.ipxe?mac=…`).
    public init(query: Substring, client: String, base: String) {
        var values: [Substring: Substring] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, values[parts[0]] == nil { values[parts[0]] = parts[1] }
        }
        self.init(
            mac: values["mac"].map { Self.percentDecoded($0) }, uuid: values["uuid"].map { Self.percentDecoded($0) },
            platform: values["platform"].map(String.init), arch: values["arch"].map(String.init), client: client,
            base: base)
    }

    /// The UUID in lowercase; nil for text that is not one, and for the all-zero and
    /// all-one UUIDs that boards without a real one report (they would name every such
    /// machine at once).
    static func normalisedUUID(_ text: String) -> String? {
        let groups = text.lowercased().split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12], groups.allSatisfy({ $0.allSatisfy(\.isHexDigit) }) else {
            return nil
        }
        let digits = Set(groups.joined())
        guard digits != ["0"], digits != ["f"] else { return nil }
        return groups.joined(separator: "-")
    }

    /// A short lowercase word of letters, digits and `_`, or nil.
    private static func word(_ text: String) -> String? {
        guard (1...16).contains(text.count),
            text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else { return nil }
        return text.lowercased()
    }

    /// `%3A` → `:` (iPXE leaves colons alone, other clients may not); invalid escapes stay.
    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), utf8.distance(from: index, to: utf8.endIndex) >= 3,
                let value = UInt8(
                    String(decoding: utf8[utf8.index(after: index)..<utf8.index(index, offsetBy: 3)], as: UTF8.self),
                    radix: 16)
            {
                bytes.append(value)
                index = utf8.index(index, offsetBy: 3)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Where the boot HTTP server gets each machine's script: the enrolment records (Warden's
/// server module implements it over the store). Called off the event loop.
public protocol BootScriptSource: Sendable {
    /// The iPXE script for the machine that sent `request`; throws when the records cannot
    /// be read now (the machine is told to retry, with `Retry-After`, which iPXE honours).
    func script(for request: BootScriptRequest) throws(BootScriptsUnavailable) -> IPXEScript
}

/// The records behind boot scripts cannot be read now (the database is failing over, say).
public struct BootScriptsUnavailable: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
