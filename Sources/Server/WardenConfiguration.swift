import Foundation
import Yams

/// Ports, addresses and paths: the embedded development defaults, then `Config/warden.yaml`
/// (or `--config FILE`), then `WARDEN_*` environment variables, each overriding the last.
public struct WardenConfiguration: Sendable, Equatable, Codable {
    /// The state folder (relative paths are relative to the working directory).
    public var stateDir = ".warden"
    /// The HTTPS listener for agents and operators.
    public var apiHost = "127.0.0.1"
    public var apiPort = 8443
    /// Names the server certificate carries (made at first start).
    public var serverNames = ["localhost", "127.0.0.1"]
    /// Boot services: the address they listen on, and HTTP, TFTP, ProxyDHCP ports.
    public var bootHost = "127.0.0.1"
    public var bootHTTPPort = 8080
    public var tftpPort = 6969
    public var proxyDHCPPort = 6767
    public var proxyDHCPAltPort = 4011
    /// Requests per second each source address may make to unauthenticated endpoints, and
    /// the burst it may spend at once.
    public var rateLimitPerSecond = 200.0
    public var rateLimitBurst = 400.0
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes = 4 * 1024 * 1024
    /// Largest image upload (a Unified Kernel Image), streamed to disk.
    public var maxImageBytes = 1 << 30
    /// PEM files of the TPM vendor CAs that EK certificates of discovered machines must chain to.
    public var tpmVendorCAs: [String] = []
    /// The audit chain's head is signed at least every this many records (and at shutdown).
    public var auditCheckpointInterval = 1_000
    /// The manifest of the iPXE files the TFTP root holds.
    public var firmware = "Firmware/firmware.yaml"
    /// Warden's IPv4 address as network-boot clients reach it (ProxyDHCP's next server);
    /// empty: `bootHost`.
    public var bootServerAddress = ""
    /// The boot file of ARM64 clients (Debian ships no ARM64 iPXE); empty: not answered.
    public var arm64BootFile = ""
    /// Whether boot scripts check each image with iPXE's `imgverify` against its `.sig`.
    public var bootImageTrust = false
    /// The catalogue image that machines nobody enrolled boot (its agent registers them);
    /// empty: they are sent on to their next boot device.
    public var discoveryImage = ""

    /// The address ProxyDHCP hands out.
    public var effectiveBootServerAddress: String { bootServerAddress.isEmpty ? bootHost : bootServerAddress }

    /// The boot HTTP server's base URL as machines reach it (`http://10.213.0.1:8080`).
    public var bootHTTPBase: String { "http://\(effectiveBootServerAddress):\(bootHTTPPort)" }

    public init() {}

    /// The variables that override the file, and the field each sets.
    public static let environmentVariables: [(name: String, field: String)] = [
        ("WARDEN_STATE_DIR", "stateDir"), ("WARDEN_API_HOST", "apiHost"), ("WARDEN_API_PORT", "apiPort"),
        ("WARDEN_SERVER_NAMES", "serverNames"), ("WARDEN_BOOT_HTTP_PORT", "bootHTTPPort"), ("WARDEN_TFTP_PORT", "tftpPort"),
        ("WARDEN_PROXYDHCP_PORT", "proxyDHCPPort"), ("WARDEN_PROXYDHCP_ALT_PORT", "proxyDHCPAltPort"),
        ("WARDEN_RATE_LIMIT_PER_SECOND", "rateLimitPerSecond"), ("WARDEN_RATE_LIMIT_BURST", "rateLimitBurst"),
        ("WARDEN_MAX_BODY_BYTES", "maxBodyBytes"), ("WARDEN_MAX_IMAGE_BYTES", "maxImageBytes"), ("WARDEN_TPM_VENDOR_CAS", "tpmVendorCAs"),
        ("WARDEN_AUDIT_CHECKPOINT_INTERVAL", "auditCheckpointInterval"), ("WARDEN_BOOT_HOST", "bootHost"), ("WARDEN_FIRMWARE", "firmware"),
        ("WARDEN_BOOT_SERVER_ADDRESS", "bootServerAddress"), ("WARDEN_ARM64_BOOT_FILE", "arm64BootFile"), ("WARDEN_BOOT_IMAGE_TRUST", "bootImageTrust"), ("WARDEN_DISCOVERY_IMAGE", "discoveryImage"),
    ]

    /// Loads `file` (absent: the defaults) and applies `environment`.
    public static func load(file: String?, environment: [String: String]) throws(ConfigurationError) -> WardenConfiguration {
        var configuration = WardenConfiguration()
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw .unreadable(file) }
            let known = Set(environmentVariables.map(\.field))
            do {
                if let unknown = (try Yams.load(yaml: text) as? [String: Any])?.keys.first(where: { !known.contains($0) }) {
                    throw ConfigurationError.invalid(file, "unknown setting \(unknown)")
                }
                configuration = try YAMLDecoder().decode(Partial.self, from: text).apply(to: configuration)
            } catch let error as ConfigurationError { throw error } catch { throw .invalid(file, "\(error)") }
        }
        for (name, field) in environmentVariables {
            guard let value = environment[name] else { continue }
            try configuration.set(field, to: value, from: name)
        }
        try configuration.validate()
        return configuration
    }

    private mutating func set(_ field: String, to value: String, from variable: String) throws(ConfigurationError) {
        func integer() throws(ConfigurationError) -> Int {
            guard let number = Int(value) else { throw .invalid(variable, "\(value) is not a number") }
            return number
        }
        func real() throws(ConfigurationError) -> Double {
            guard let number = Double(value) else { throw .invalid(variable, "\(value) is not a number") }
            return number
        }
        func boolean() throws(ConfigurationError) -> Bool {
            guard let flag = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][value.lowercased()] else {
                throw .invalid(variable, "\(value) is not true or false")
            }
            return flag
        }
        let list = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        switch field {
        case "stateDir": stateDir = value
        case "apiHost": apiHost = value
        case "apiPort": apiPort = try integer()
        case "serverNames": serverNames = list
        case "bootHTTPPort": bootHTTPPort = try integer()
        case "tftpPort": tftpPort = try integer()
        case "proxyDHCPPort": proxyDHCPPort = try integer()
        case "proxyDHCPAltPort": proxyDHCPAltPort = try integer()
        case "rateLimitPerSecond": rateLimitPerSecond = try real()
        case "rateLimitBurst": rateLimitBurst = try real()
        case "maxBodyBytes": maxBodyBytes = try integer()
        case "maxImageBytes": maxImageBytes = try integer()
        case "auditCheckpointInterval": auditCheckpointInterval = try integer()
        case "bootHost": bootHost = value
        case "firmware": firmware = value
        case "bootServerAddress": bootServerAddress = value
        case "arm64BootFile": arm64BootFile = value
        case "bootImageTrust": bootImageTrust = try boolean()
        case "discoveryImage": discoveryImage = value
        default: tpmVendorCAs = list
        }
    }

    private func validate() throws(ConfigurationError) {
        for (name, port) in [("apiPort", apiPort), ("bootHTTPPort", bootHTTPPort), ("tftpPort", tftpPort),
                             ("proxyDHCPPort", proxyDHCPPort), ("proxyDHCPAltPort", proxyDHCPAltPort)] where !(0...65535).contains(port) {
            throw .invalid(name, "\(port) is not a port")
        }
        guard !serverNames.isEmpty else { throw .invalid("serverNames", "at least one name is needed") }
        guard rateLimitPerSecond > 0, rateLimitBurst >= 1 else { throw .invalid("rateLimit", "must be positive") }
        guard (1 << 20...16 << 30).contains(maxImageBytes) else { throw .invalid("maxImageBytes", "\(maxImageBytes) is out of range") }
        guard (1024...64 * 1024 * 1024).contains(maxBodyBytes) else { throw .invalid("maxBodyBytes", "\(maxBodyBytes) is out of range") }
        guard IPv4.bytes(effectiveBootServerAddress) != nil else {
            throw .invalid("bootServerAddress", "\(effectiveBootServerAddress) is not an IPv4 address (set bootServerAddress when bootHost is not one)")
        }
        guard (1...1_000_000).contains(auditCheckpointInterval) else {
            throw .invalid("auditCheckpointInterval", "\(auditCheckpointInterval) is not between 1 and 1000000")
        }
    }

    /// The file's shape: every field optional, so a file names only what it changes.
    private struct Partial: Decodable {
        var stateDir: String?
        var apiHost: String?
        var apiPort: Int?
        var serverNames: [String]?
        var bootHTTPPort: Int?
        var tftpPort: Int?
        var proxyDHCPPort: Int?
        var proxyDHCPAltPort: Int?
        var rateLimitPerSecond: Double?
        var rateLimitBurst: Double?
        var maxBodyBytes: Int?
        var maxImageBytes: Int?
        var tpmVendorCAs: [String]?
        var auditCheckpointInterval: Int?
        var bootHost: String?
        var firmware: String?
        var bootServerAddress: String?
        var arm64BootFile: String?
        var bootImageTrust: Bool?
        var discoveryImage: String?

        func apply(to base: WardenConfiguration) -> WardenConfiguration {
            var c = base
            c.stateDir = stateDir ?? c.stateDir
            c.apiHost = apiHost ?? c.apiHost
            c.apiPort = apiPort ?? c.apiPort
            c.serverNames = serverNames ?? c.serverNames
            c.bootHTTPPort = bootHTTPPort ?? c.bootHTTPPort
            c.tftpPort = tftpPort ?? c.tftpPort
            c.proxyDHCPPort = proxyDHCPPort ?? c.proxyDHCPPort
            c.proxyDHCPAltPort = proxyDHCPAltPort ?? c.proxyDHCPAltPort
            c.rateLimitPerSecond = rateLimitPerSecond ?? c.rateLimitPerSecond
            c.rateLimitBurst = rateLimitBurst ?? c.rateLimitBurst
            c.maxBodyBytes = maxBodyBytes ?? c.maxBodyBytes
            c.maxImageBytes = maxImageBytes ?? c.maxImageBytes
            c.tpmVendorCAs = tpmVendorCAs ?? c.tpmVendorCAs
            c.auditCheckpointInterval = auditCheckpointInterval ?? c.auditCheckpointInterval
            c.bootHost = bootHost ?? c.bootHost
            c.firmware = firmware ?? c.firmware
            c.bootServerAddress = bootServerAddress ?? c.bootServerAddress
            c.arm64BootFile = arm64BootFile ?? c.arm64BootFile
            c.bootImageTrust = bootImageTrust ?? c.bootImageTrust
            c.discoveryImage = discoveryImage ?? c.discoveryImage
            return c
        }
    }
}

/// A configuration file or variable that cannot be used.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case .unreadable(let file): "cannot read configuration file \(file)"
        case .invalid(let place, let why): "configuration \(place): \(why)"
        }
    }
}

/// Dotted-quad IPv4 addresses.
public enum IPv4 {
    /// The four bytes of `text`, or nil when it is not a dotted-quad address.
    public static func bytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { part in part.count <= 3 && part.allSatisfy(\.isASCII) ? UInt8(part) : nil }
        return bytes.count == 4 ? bytes : nil
    }
}
