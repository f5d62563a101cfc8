import Octets

/// What Warden's ProxyDHCP answers, as a pure function of the request: it never offers an
/// address, answers only network-boot clients (option 60 `PXEClient` or `HTTPClient`), and
/// picks the boot file by client architecture (option 93) and user class (iPXE):
///
/// - a PXE ROM gets iPXE over TFTP (`undionly.kpxe` for BIOS, `ipxe.efi` for UEFI x64, a
///   configured file for ARM64) through the PXE boot-server menu that ROMs expect from a
///   ProxyDHCP server (option 43: discovery control, one boot server, one menu item,
///   prompt): the offer carries the menu, the client asks again on port 4011 for the item,
///   and the acknowledgement names the file;
/// - iPXE (user class `iPXE` or option 175) gets the HTTP URL of its boot script — directly
///   on UEFI, through the menu on BIOS, whose iPXE ROM boots only a menu item;
/// - a UEFI HTTP Boot client gets an HTTP URL directly, with option 60 `HTTPClient` echoed.
public struct ProxyDHCPResponder: Sendable {
    /// Where clients reach Warden, and what it hands out.
    public struct Settings: Sendable {
        /// Warden's IPv4 address on the machines' network (next server, server identifier).
        public var serverAddress: [UInt8]
        /// The boot HTTP base URL (`http://10.213.0.1:8080`).
        public var httpBase: String
        public var biosFile = "undionly.kpxe"
        public var uefiFile = "ipxe.efi"
        /// The file for ARM64 clients (Debian ships no ARM64 iPXE); nil: they get no answer.
        public var arm64File: String?

        public init(serverAddress: [UInt8], httpBase: String) {
            self.serverAddress = serverAddress
            self.httpBase = httpBase
        }

        /// The URL of the iPXE boot script.
        public var scriptURL: String { httpBase + "/boot.ipxe" }
    }

    /// The port a request arrived on.
    public enum Port: Sendable {
        /// The DHCP server port (67; 6767 in development).
        case dhcp
        /// The PXE boot-server port (4011).
        case bootServer
    }

    /// A reply, or why there is none.
    public enum Decision: Sendable, Equatable {
        case reply(DHCPPacket)
        case silence(String)
    }

    /// Client system architectures (option 93, RFC 4578 and IANA's registry).
    enum Architecture: UInt16 {
        case bios = 0, efiIA32 = 6, efiBC = 7, efiX64 = 9, efiARM64 = 11, efiX64HTTP = 16, efiARM64HTTP = 19
    }

    /// The one menu item Warden offers (a vendor-specific boot server type).
    static let bootItemType: [UInt8] = [0x80, 0x00]

    public let settings: Settings

    public init(settings: Settings) { self.settings = settings }

    public func decide(_ request: DHCPPacket, on port: Port) -> Decision {
        guard request.operation == 1 else { return .silence("not a client request") }
        guard let type = request.option(53).flatMap({ DHCPMessageType(rawValue: $0[0]) }),
            type == .discover || type == .request
        else {
            return .silence("only DISCOVER and REQUEST are answered")
        }
        if type == .discover && port == .bootServer { return .silence("DISCOVER on the boot-server port") }
        if type == .request, let server = request.option(54), server != settings.serverAddress {
            return .silence("a REQUEST for another server")
        }
        let vendor = String(decoding: request.option(60) ?? [], as: UTF8.self)
        let isHTTP = vendor.hasPrefix("HTTPClient")
        guard vendor.hasPrefix("PXEClient") || isHTTP else {
            return .silence("not a network-boot client (option 60 \(vendor.isEmpty ? "absent" : vendor))")
        }
        guard let archBytes = request.option(93), archBytes.count >= 2 else {
            return .silence("no client architecture (option 93)")
        }
        let code = BigEndian.read(UInt16.self, archBytes[...])
        guard let architecture = Architecture(rawValue: code) else {
            return .silence("client architecture \(code) is not served")
        }
        let userClass = String(decoding: request.option(77) ?? [], as: UTF8.self)
        let isIPXE = userClass.contains("iPXE") || request.option(175) != nil
        let messageType: DHCPMessageType = type == .discover ? .offer : .acknowledgement

        if isHTTP {
            let file: String? =
                switch architecture {
                case .efiX64HTTP: settings.httpBase + "/" + settings.uefiFile
                case .efiARM64HTTP: settings.arm64File.map { settings.httpBase + "/" + $0 }
                default: nil
                }
            guard let file else { return .silence("no HTTP boot file for architecture \(code)") }
            return .reply(
                reply(to: request, type: messageType, file: file, vendorClass: "HTTPClient", vendorOptions: nil))
        }
        let file: String?
        switch (architecture, isIPXE) {
        case (.bios, true), (.efiBC, true), (.efiX64, true), (.efiARM64, true): file = settings.scriptURL
        case (.bios, false): file = settings.biosFile
        case (.efiBC, false), (.efiX64, false): file = settings.uefiFile
        case (.efiARM64, false): file = settings.arm64File
        default: file = nil
        }
        guard let file else { return .silence("no boot file for architecture \(code)") }
        // UEFI iPXE takes the file straight from the offer; PXE ROMs and BIOS iPXE boot a
        // menu item: the offer carries the menu, the item's file comes at port 4011.
        if isIPXE && architecture != .bios {
            return .reply(
                reply(to: request, type: messageType, file: file, vendorClass: "PXEClient", vendorOptions: nil))
        }
        if let item = Self.subOption(71, in: request.option(43) ?? []), item.count == 4,
            Array(item.prefix(2)) == Self.bootItemType
        {
            return .reply(
                reply(
                    to: request, type: .acknowledgement, file: file, vendorClass: "PXEClient",
                    vendorOptions: [71, 4] + item))
        }
        guard type == .discover else { return .silence("a REQUEST without Warden's boot item") }
        return .reply(reply(to: request, type: .offer, file: "", vendorClass: "PXEClient", vendorOptions: menu))
    }

    /// Option 43 for a PXE ROM: discovery by unicast to the listed server only, one boot
    /// server, one menu item, and a prompt that does not wait.
    private var menu: [UInt8] {
        let description = Array("Warden network boot".utf8)
        let prompt = Array("Warden".utf8)
        var options: [UInt8] = [6, 1, 0x07]
        options += [8, 7] + Self.bootItemType + [1] + settings.serverAddress
        options += [9, UInt8(3 + description.count)] + Self.bootItemType + [UInt8(description.count)] + description
        options += [10, UInt8(1 + prompt.count), 0] + prompt
        return options + [255]
    }

    private func reply(
        to request: DHCPPacket, type: DHCPMessageType, file: String, vendorClass: String, vendorOptions: [UInt8]?
    ) -> DHCPPacket {
        var reply = DHCPPacket(
            operation: 2, transactionID: request.transactionID, flags: request.flags,
            relayAddress: request.relayAddress,
            clientHardwareAddress: request.clientHardwareAddress, hardwareLength: request.hardwareLength)
        reply.hardwareType = request.hardwareType
        reply.serverAddress = settings.serverAddress
        var options: [(code: UInt8, value: [UInt8])] = [
            (53, [type.rawValue]), (54, settings.serverAddress), (60, Array(vendorClass.utf8)),
        ]
        if file.utf8.count <= 127 { reply.bootFile = file } else { options.append((67, Array(file.utf8))) }
        if let uuid = request.option(97) { options.append((97, uuid)) }
        if let vendorOptions { options.append((43, vendorOptions)) }
        reply.options = options
        return reply
    }

    /// Sub-option `code` of an encapsulated option (43).
    static func subOption(_ code: UInt8, in bytes: [UInt8]) -> [UInt8]? {
        var index = 0
        while index + 1 < bytes.count {
            let current = bytes[index], length = Int(bytes[index + 1])
            if current == 255 { return nil }
            guard index + 2 + length <= bytes.count else { return nil }
            if current == code { return Array(bytes[(index + 2)..<(index + 2 + length)]) }
            index += 2 + length
        }
        return nil
    }
}
