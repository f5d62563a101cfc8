import Foundation
import Logging
import Yams

/// Ports, addresses, paths and bounds: the embedded development defaults, then
/// `Config/warden.yaml` (or `--config FILE`), then `WARDEN_*` environment variables, each
/// overriding the last. Every setting is listed once, in ``settings``, with its key, its
/// variable and its field; durations are whole seconds.
public struct WardenConfiguration: Sendable, Equatable {
    /// The state folder. Relative paths in a configuration file are relative to its folder;
    /// in a variable or an option, to the working directory.
    public var stateDir = ".warden"
    /// The store: empty for SQLite in the state folder, or a PostgreSQL URI in libpq's form
    /// (`postgresql://USER@HOST[:PORT][,HOST…]/DATABASE?sslmode=verify-full&sslrootcert=FILE`);
    /// of several hosts the writable one is used, and found again after a fail-over.
    public var database = ""
    /// The file holding the PostgreSQL password; empty: none (a client certificate instead).
    public var databasePasswordFile = ""
    /// The HTTPS listener for agents and operators.
    public var apiHost = "127.0.0.1"
    public var apiPort = 8443
    /// This appliance's name among those sharing one database: every audit record it writes
    /// names it. Default: the host name.
    public var applianceName = WardenConfiguration.hostName()
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
    /// The manifest of the iPXE files the TFTP root holds; empty: those of Debian's `ipxe`
    /// package (``FirmwareFiles/debianIPXE``).
    public var firmware = ""
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
    /// The catalogue image UEFI machines nobody enrolled boot while Secure Boot enrolment is
    /// switched on (its agent, `warden-agent secureboot-enrol`, enrols the rack's keys in a
    /// firmware in setup mode and registers the machine); empty: enrolment is off.
    public var secureBootEnrolmentImage = ""

    /// ``secureBootEnrolmentImage`` when enrolment is on; nil when it is off.
    public var enrolmentImage: String? { secureBootEnrolmentImage.isEmpty ? nil : secureBootEnrolmentImage }

    /// The log's line format, `logfmt` or `json` (``StructuredLogHandler``), and the least
    /// level written: trace, debug, info, notice, warning, error or critical.
    public var logFormat = "logfmt"
    public var logLevel = "info"

    // Bounds on what anyone on the boot network can hold (see README, "A hostile boot network").

    /// HTTPS API connections at once, and from one source address.
    public var apiMaxConnections = 1_024
    public var apiMaxConnectionsPerSource = 64
    /// New HTTPS connections one source address may start a second, on average, once it
    /// started `apiMaxConnectionsPerSource` at once; one ahead of that pace waits for its
    /// turn (at most `apiHandshakeTimeout`) before its TLS handshake begins.
    public var apiHandshakesPerSecondPerSource = 8.0
    /// Seconds a connection may take to finish its TLS handshake.
    public var apiHandshakeTimeout = 10
    /// Seconds between requests (or after the handshake) within which the next request's
    /// whole head must arrive; bytes trickling in do not extend it.
    public var apiIdleTimeout = 60
    /// Seconds a request body may take, plus one second per `apiMinimumBodyRate` bytes it declares.
    public var apiBodyTimeout = 30
    public var apiMinimumBodyRate = 256 * 1024
    /// Request bodies held in memory at once, in bytes, over all connections.
    public var maxBodyBytesInFlight = 32 * 1024 * 1024
    /// Boot HTTP connections at once, and from one source address.
    public var bootHTTPMaxConnections = 1_024
    public var bootHTTPMaxConnectionsPerSource = 32
    /// Seconds within which a boot HTTP request's whole head must arrive.
    public var bootHTTPIdleTimeout = 30
    /// TFTP transfers at once, and to one source address.
    public var tftpMaxTransfers = 1_024
    public var tftpMaxTransfersPerSource = 16
    /// The longest retransmission timeout a TFTP client may ask for (RFC 2349), in seconds.
    public var tftpMaxTimeout = 5
    /// Seconds a TFTP client has to acknowledge a transfer's first packet.
    public var tftpStartTimeout = 5
    /// Machines recorded as discovered at once, how long such a row lives (seconds), and
    /// how many new ones may be recorded per minute, from one source address and in all.
    public var maxDiscoveredMachines = 1_000
    public var discoveredMachineLifetime = 86_400
    public var discoveriesPerMinutePerSource = 30
    public var discoveriesPerMinute = 300
    /// Seconds an attestation key may wait for its credential activation.
    public var registrationLifetime = 300
    /// Refusals of anonymous requests are audited once per kind in this many seconds, with
    /// a count of the rest.
    public var refusalAuditInterval = 60
    /// Audit exports built at once; further ones get 503.
    public var maxConcurrentExports = 2

    /// The address ProxyDHCP hands out.
    public var effectiveBootServerAddress: String { bootServerAddress.isEmpty ? bootHost : bootServerAddress }

    /// The boot HTTP server's base URL as machines reach it (`http://10.213.0.1:8080`).
    public var bootHTTPBase: String { "http://\(effectiveBootServerAddress):\(bootHTTPPort)" }

    public init() {}

    /// Every setting: its key in the file, its environment variable, and its field.
    public static let settings: [Setting] = [
        .init("stateDir", "WARDEN_STATE_DIR", .path(\.stateDir)),
        .init("database", "WARDEN_DATABASE", .text(\.database)),
        .init("databasePasswordFile", "WARDEN_DATABASE_PASSWORD_FILE", .path(\.databasePasswordFile)),
        .init("apiHost", "WARDEN_API_HOST", .text(\.apiHost)),
        .init("apiPort", "WARDEN_API_PORT", .port(\.apiPort)),
        .init("applianceName", "WARDEN_APPLIANCE_NAME", .text(\.applianceName)),
        .init("serverNames", "WARDEN_SERVER_NAMES", .list(\.serverNames)),
        .init("bootHost", "WARDEN_BOOT_HOST", .text(\.bootHost)),
        .init("bootHTTPPort", "WARDEN_BOOT_HTTP_PORT", .port(\.bootHTTPPort)),
        .init("tftpPort", "WARDEN_TFTP_PORT", .port(\.tftpPort)),
        .init("proxyDHCPPort", "WARDEN_PROXYDHCP_PORT", .port(\.proxyDHCPPort)),
        .init("proxyDHCPAltPort", "WARDEN_PROXYDHCP_ALT_PORT", .port(\.proxyDHCPAltPort)),
        .init("rateLimitPerSecond", "WARDEN_RATE_LIMIT_PER_SECOND", .real(\.rateLimitPerSecond, 1e-9...1e9)),
        .init("rateLimitBurst", "WARDEN_RATE_LIMIT_BURST", .real(\.rateLimitBurst, 1...1e9)),
        .init("maxBodyBytes", "WARDEN_MAX_BODY_BYTES", .integer(\.maxBodyBytes, 1024...(64 << 20))),
        .init("maxImageBytes", "WARDEN_MAX_IMAGE_BYTES", .integer(\.maxImageBytes, (1 << 20)...(16 << 30))),
        .init("tpmVendorCAs", "WARDEN_TPM_VENDOR_CAS", .paths(\.tpmVendorCAs)),
        .init(
            "auditCheckpointInterval", "WARDEN_AUDIT_CHECKPOINT_INTERVAL",
            .integer(\.auditCheckpointInterval, 1...1_000_000)),
        .init("firmware", "WARDEN_FIRMWARE", .path(\.firmware)),
        .init("bootServerAddress", "WARDEN_BOOT_SERVER_ADDRESS", .text(\.bootServerAddress)),
        .init("arm64BootFile", "WARDEN_ARM64_BOOT_FILE", .text(\.arm64BootFile)),
        .init("bootImageTrust", "WARDEN_BOOT_IMAGE_TRUST", .flag(\.bootImageTrust)),
        .init("discoveryImage", "WARDEN_DISCOVERY_IMAGE", .text(\.discoveryImage)),
        .init("secureBootEnrolmentImage", "WARDEN_SECURE_BOOT_ENROLMENT_IMAGE", .text(\.secureBootEnrolmentImage)),
        .init("logFormat", "WARDEN_LOG_FORMAT", .text(\.logFormat)),
        .init("logLevel", "WARDEN_LOG_LEVEL", .text(\.logLevel)),
        .init("apiMaxConnections", "WARDEN_API_MAX_CONNECTIONS", .integer(\.apiMaxConnections, 1...1_000_000)),
        .init(
            "apiMaxConnectionsPerSource", "WARDEN_API_MAX_CONNECTIONS_PER_SOURCE",
            .integer(\.apiMaxConnectionsPerSource, 1...1_000_000)),
        .init(
            "apiHandshakesPerSecondPerSource", "WARDEN_API_HANDSHAKES_PER_SECOND_PER_SOURCE",
            .real(\.apiHandshakesPerSecondPerSource, 0.01...1e6)),
        .init("apiHandshakeTimeout", "WARDEN_API_HANDSHAKE_TIMEOUT", .integer(\.apiHandshakeTimeout, 1...3_600)),
        .init("apiIdleTimeout", "WARDEN_API_IDLE_TIMEOUT", .integer(\.apiIdleTimeout, 1...3_600)),
        .init("apiBodyTimeout", "WARDEN_API_BODY_TIMEOUT", .integer(\.apiBodyTimeout, 1...3_600)),
        .init("apiMinimumBodyRate", "WARDEN_API_MINIMUM_BODY_RATE", .integer(\.apiMinimumBodyRate, 1...(1 << 40))),
        .init(
            "maxBodyBytesInFlight", "WARDEN_MAX_BODY_BYTES_IN_FLIGHT",
            .integer(\.maxBodyBytesInFlight, (1 << 20)...(16 << 30))),
        .init(
            "bootHTTPMaxConnections", "WARDEN_BOOT_HTTP_MAX_CONNECTIONS",
            .integer(\.bootHTTPMaxConnections, 1...1_000_000)),
        .init(
            "bootHTTPMaxConnectionsPerSource", "WARDEN_BOOT_HTTP_MAX_CONNECTIONS_PER_SOURCE",
            .integer(\.bootHTTPMaxConnectionsPerSource, 1...1_000_000)),
        .init("bootHTTPIdleTimeout", "WARDEN_BOOT_HTTP_IDLE_TIMEOUT", .integer(\.bootHTTPIdleTimeout, 1...3_600)),
        .init("tftpMaxTransfers", "WARDEN_TFTP_MAX_TRANSFERS", .integer(\.tftpMaxTransfers, 1...1_000_000)),
        .init(
            "tftpMaxTransfersPerSource", "WARDEN_TFTP_MAX_TRANSFERS_PER_SOURCE",
            .integer(\.tftpMaxTransfersPerSource, 1...1_000_000)),
        .init("tftpMaxTimeout", "WARDEN_TFTP_MAX_TIMEOUT", .integer(\.tftpMaxTimeout, 1...255)),
        .init("tftpStartTimeout", "WARDEN_TFTP_START_TIMEOUT", .integer(\.tftpStartTimeout, 1...255)),
        .init(
            "maxDiscoveredMachines", "WARDEN_MAX_DISCOVERED_MACHINES", .integer(\.maxDiscoveredMachines, 0...1_000_000)),
        .init(
            "discoveredMachineLifetime", "WARDEN_DISCOVERED_MACHINE_LIFETIME",
            .integer(\.discoveredMachineLifetime, 60...(365 * 86_400))),
        .init(
            "discoveriesPerMinutePerSource", "WARDEN_DISCOVERIES_PER_MINUTE_PER_SOURCE",
            .integer(\.discoveriesPerMinutePerSource, 1...1_000_000)),
        .init("discoveriesPerMinute", "WARDEN_DISCOVERIES_PER_MINUTE", .integer(\.discoveriesPerMinute, 1...1_000_000)),
        .init("registrationLifetime", "WARDEN_REGISTRATION_LIFETIME", .integer(\.registrationLifetime, 10...86_400)),
        .init("refusalAuditInterval", "WARDEN_REFUSAL_AUDIT_INTERVAL", .integer(\.refusalAuditInterval, 1...86_400)),
        .init("maxConcurrentExports", "WARDEN_MAX_CONCURRENT_EXPORTS", .integer(\.maxConcurrentExports, 1...64)),
    ]

    /// Loads `file` (absent: the defaults) and applies `environment`.
    public static func load(file: String?, environment: [String: String]) throws(ConfigurationError)
        -> WardenConfiguration
    {
        var configuration = WardenConfiguration()
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw .unreadable(file) }
            let values: [String: Any]
            do { values = try Yams.load(yaml: text) as? [String: Any] ?? [:] } catch {
                throw .invalid(file, "\(error)")
            }
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                guard let setting = settings.first(where: { $0.key == key }) else {
                    throw .invalid(file, "unknown setting \(key)")
                }
                let raw: Setting.Raw = (value as? [Any]).map { .list($0.map { "\($0)" }) } ?? .scalar("\(value)")
                try setting.apply(raw, to: &configuration, naming: "\(file): \(key)")
                setting.resolvePaths(
                    in: &configuration, against: URL(fileURLWithPath: file).deletingLastPathComponent())
            }
        }
        for setting in settings {
            guard let value = environment[setting.variable] else { continue }
            try setting.apply(.scalar(value), to: &configuration, naming: setting.variable)
        }
        try configuration.validate()
        return configuration
    }

    private func validate() throws(ConfigurationError) {
        guard Self.isApplianceName(applianceName) else {
            throw .invalid(
                "applianceName",
                "\(applianceName) is not a name of 1 to 63 letters, digits, dots, hyphens or underscores")
        }
        guard !serverNames.isEmpty else { throw .invalid("serverNames", "at least one name is needed") }
        guard StructuredLogHandler.Format(rawValue: logFormat) != nil else {
            throw .invalid("logFormat", "\(logFormat) is not logfmt or json")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw .invalid(
                "logLevel",
                "\(logLevel) is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        _ = try postgresLocation()
        guard IPv4.bytes(effectiveBootServerAddress) != nil else {
            throw .invalid(
                "bootServerAddress",
                "\(effectiveBootServerAddress) is not an IPv4 address (set bootServerAddress when bootHost is not one)")
        }
        guard apiMaxConnectionsPerSource <= apiMaxConnections,
            bootHTTPMaxConnectionsPerSource <= bootHTTPMaxConnections,
            tftpMaxTransfersPerSource <= tftpMaxTransfers
        else { throw .invalid("limits", "a per-source limit is larger than its total") }
        guard maxBodyBytesInFlight >= 4 * maxBodyBytes else {
            throw .invalid(
                "maxBodyBytesInFlight",
                "\(maxBodyBytesInFlight) is less than four bodies of maxBodyBytes (one source holds a quarter of it)")
        }
    }
}

extension WardenConfiguration {
    /// Whether `name` may name an appliance: 1 to 63 ASCII letters, digits, `.`, `-` or `_`.
    public static func isApplianceName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x2e
                    || byte == 0x2d || byte == 0x5f
            }
    }

    /// This machine's host name (`localhost` when it has none).
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return isApplianceName(name) ? name : "localhost"
    }
}

extension WardenConfiguration {
    /// One setting: the key that names it in the file, its variable, and how its value is read.
    public struct Setting: Sendable {
        public let key: String
        public let variable: String
        let kind: Kind

        init(_ key: String, _ variable: String, _ kind: Kind) {
            self.key = key
            self.variable = variable
            self.kind = kind
        }

        /// A value as the file or the environment gave it.
        enum Raw {
            case scalar(String)
            case list([String])
        }

        enum Kind: Sendable {
            case text(WritableKeyPath<WardenConfiguration, String> & Sendable)
            case list(WritableKeyPath<WardenConfiguration, [String]> & Sendable)
            /// A file or folder: relative to the configuration file's folder when it names it.
            case path(WritableKeyPath<WardenConfiguration, String> & Sendable)
            case paths(WritableKeyPath<WardenConfiguration, [String]> & Sendable)
            case port(WritableKeyPath<WardenConfiguration, Int> & Sendable)
            case integer(WritableKeyPath<WardenConfiguration, Int> & Sendable, ClosedRange<Int>)
            case real(WritableKeyPath<WardenConfiguration, Double> & Sendable, ClosedRange<Double>)
            case flag(WritableKeyPath<WardenConfiguration, Bool> & Sendable)
        }

        /// Sets the field from `raw`; a mistake is reported under `place`, a bound under the key.
        func apply(_ raw: Raw, to configuration: inout WardenConfiguration, naming place: String)
            throws(ConfigurationError)
        {
            let text: String
            switch (kind, raw) {
            case (.list(let field), .list(let items)), (.paths(let field), .list(let items)):
                configuration[keyPath: field] = items.map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                    !$0.isEmpty
                }
                return
            case (.list(let field), .scalar(let value)), (.paths(let field), .scalar(let value)):
                configuration[keyPath: field] = value.split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.filter { !$0.isEmpty }
                return
            case (_, .list): throw .invalid(place, "a list where one value is expected")
            case (_, .scalar(let value)): text = value
            }
            switch kind {
            case .text(let field), .path(let field): configuration[keyPath: field] = text
            case .list, .paths: break
            case .port(let field):
                configuration[keyPath: field] = try Self.integer(
                    text, place, within: 0...65_535, key: key, what: "a port")
            case .integer(let field, let range):
                configuration[keyPath: field] = try Self.integer(
                    text, place, within: range, key: key, what: "within \(range)")
            case .real(let field, let range):
                guard let number = Double(text) else { throw .invalid(place, "\(text) is not a number") }
                guard range.contains(number) else { throw .invalid(key, "\(text) is not within \(range)") }
                configuration[keyPath: field] = number
            case .flag(let field):
                guard
                    let flag = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][
                        text.lowercased()]
                else {
                    throw .invalid(place, "\(text) is not true or false")
                }
                configuration[keyPath: field] = flag
            }
        }

        /// Makes a relative path the setting holds relative to `folder` (the configuration
        /// file's); other settings, absolute paths and empty values stay as they are.
        func resolvePaths(in configuration: inout WardenConfiguration, against folder: URL) {
            let resolve = { (path: String) in
                path.isEmpty || path.hasPrefix("/") ? path : folder.appendingPathComponent(path).standardized.path
            }
            switch kind {
            case .path(let field): configuration[keyPath: field] = resolve(configuration[keyPath: field])
            case .paths(let field): configuration[keyPath: field] = configuration[keyPath: field].map(resolve)
            default: break
            }
        }

        private static func integer(
            _ text: String, _ place: String, within range: ClosedRange<Int>, key: String, what: String
        ) throws(ConfigurationError) -> Int {
            guard let number = Int(text) else { throw .invalid(place, "\(text) is not a number") }
            guard range.contains(number) else { throw .invalid(key, "\(number) is not \(what)") }
            return number
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
