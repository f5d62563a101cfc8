import Foundation

/// A PostgreSQL database as libpq's connection URI names it:
/// `postgresql://USER@HOST[:PORT][,HOST[:PORT]…]/DATABASE?sslmode=…&sslrootcert=…`.
/// Several hosts mean one primary among standbys: the store connects to whichever is
/// writable, and looks for it again after a fail-over. A password never comes in the URI
/// (it would show in `ps`, in shell histories and in unit files), only from a file or as a
/// client certificate.
public struct PostgresLocation: Sendable, Equatable {
    /// One server to try: a host name or address and its port, or a folder holding its
    /// Unix socket (a `host` that starts with `/`).
    public struct Host: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var port: Int

        public init(name: String, port: Int = 5432) {
            self.name = name
            self.port = port
        }

        /// Whether `name` is a Unix socket's folder.
        public var isSocketFolder: Bool { name.hasPrefix("/") }
        /// Whether the server is on this machine: a socket folder, `localhost` or a loopback address.
        public var isThisMachine: Bool {
            isSocketFolder || name == "localhost" || name == "::1" || name.hasPrefix("127.")
        }

        /// The Unix socket's path, as PostgreSQL names it in that folder.
        public var socketPath: String { name + "/.s.PGSQL.\(port)" }

        public var description: String { name.contains(":") ? "[\(name)]:\(port)" : "\(name):\(port)" }
    }

    /// libpq's `sslmode`, from `disable` to `verify-full`.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var hosts: [Host]
    public var user: String
    public var database: String
    public var sslMode: SSLMode
    /// The CA certificates (PEM) a server's certificate must chain to.
    public var sslRootCertificate: String?
    /// The client certificate and its key (PEM), when the server asks for one.
    public var sslCertificate: String?
    public var sslKey: String?
    /// How long one host may take to answer before the next is tried.
    public var connectTimeout: TimeInterval
    public var applicationName: String

    /// The parameters a URI may carry; any other is refused, as libpq refuses it.
    static let parameters: Set<String> = [
        "host", "port", "user", "dbname", "sslmode", "sslrootcert", "sslcert", "sslkey", "target_session_attrs",
        "connect_timeout", "application_name",
    ]

    /// Reads libpq's URI form.
    public init(uri: String) throws(PostgresLocationError) {
        guard let schemeEnd = uri.range(of: "://"),
            ["postgresql", "postgres"].contains(uri[..<schemeEnd.lowerBound].lowercased())
        else { throw .notPostgres }
        var rest = Substring(uri[schemeEnd.upperBound...])
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        if let userInfo, userInfo.contains(":") { throw .passwordInURI }
        var settings: [String: String] = [:]
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let key = Self.decoded(parts[0]), let value = Self.decoded(parts[1]) else {
                throw .malformed("query parameters")
            }
            if key == "password" { throw .passwordInURI }
            guard Self.parameters.contains(key) else { throw .unknownParameter(key) }
            settings[key] = value
        }
        var user = settings["user"]
        if let userInfo { user = try Self.required(userInfo, "user name") }
        guard let user else { throw .missing("a user name (postgresql://USER@HOST/DATABASE)") }
        let database = try path.isEmpty ? settings["dbname"] ?? user : Self.required(path, "database name")
        var hosts = try Self.hosts(rest)
        if let host = settings["host"] {
            hosts = host.split(separator: ",").map { Host(name: String($0)) }
        }
        if let ports = settings["port"] {
            let list = ports.split(separator: ",").map { Int($0) }
            guard !list.contains(nil), list.count == 1 || list.count == hosts.count else {
                throw .malformed("port \(ports)")
            }
            for index in hosts.indices { hosts[index].port = list.count == 1 ? list[0]! : list[index]! }
        }
        guard !hosts.isEmpty else { throw .missing("a host") }
        guard let mode = SSLMode(rawValue: settings["sslmode"] ?? SSLMode.prefer.rawValue) else {
            throw .malformed(
                "sslmode \(settings["sslmode"] ?? ""): one of "
                    + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let attributes = settings["target_session_attrs"], !["read-write", "primary", "any"].contains(attributes) {
            throw .malformed("target_session_attrs \(attributes): the store needs read-write")
        }
        var timeout: TimeInterval = 10
        if let text = settings["connect_timeout"] {
            guard let seconds = Int(text), seconds >= 0 else { throw .malformed("connect_timeout \(text)") }
            timeout = seconds == 0 ? 10 : TimeInterval(max(seconds, 2))
        }
        if [.verifyCA, .verifyFull].contains(mode), settings["sslrootcert"] == nil {
            throw .missing("sslrootcert: sslmode \(mode.rawValue) checks the server against it")
        }
        guard (settings["sslcert"] == nil) == (settings["sslkey"] == nil) else {
            throw .missing("sslcert and sslkey go together")
        }
        self.hosts = hosts
        self.user = user
        self.database = database
        self.sslMode = mode
        self.sslRootCertificate = settings["sslrootcert"]
        self.sslCertificate = settings["sslcert"]
        self.sslKey = settings["sslkey"]
        self.connectTimeout = timeout
        self.applicationName = settings["application_name"] ?? "warden"
    }

    /// The hosts of a URI's authority: `HOST[:PORT]`, comma-separated, IPv6 in brackets,
    /// a socket folder percent-encoded.
    private static func hosts(_ authority: Substring) throws(PostgresLocationError) -> [Host] {
        guard !authority.isEmpty else { return [] }
        var hosts: [Host] = []
        for entry in authority.split(separator: ",", omittingEmptySubsequences: false) {
            var name: Substring
            var port: Substring?
            if entry.hasPrefix("[") {
                guard let close = entry.firstIndex(of: "]") else { throw .malformed("host \(entry)") }
                name = entry[entry.index(after: entry.startIndex)..<close]
                let after = entry[entry.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw .malformed("host \(entry)") }
                    port = after.dropFirst()
                }
            } else if let colon = entry.lastIndex(of: ":") {
                name = entry[..<colon]
                port = entry[entry.index(after: colon)...]
            } else {
                name = entry
            }
            let host = try required(name, "host")
            var number = 5432
            if let port {
                guard let parsed = Int(port), (1...65535).contains(parsed) else { throw .malformed("port \(port)") }
                number = parsed
            }
            hosts.append(Host(name: host, port: number))
        }
        return hosts
    }

    private static func required(_ text: Substring, _ what: String) throws(PostgresLocationError) -> String {
        guard let value = decoded(text), !value.isEmpty else { throw .malformed(what) }
        return value
    }

    private static func decoded(_ text: Substring) -> String? { String(text).removingPercentEncoding }
}

/// Why a database URI was refused; never repeats the URI, which might carry a secret.
public enum PostgresLocationError: Error, Sendable, Equatable, CustomStringConvertible {
    case notPostgres
    case passwordInURI
    case unknownParameter(String)
    case missing(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .notPostgres: "the database setting is not a postgresql:// URI"
        case .passwordInURI:
            "the database URI carries a password: put it in the file WARDEN_DATABASE_PASSWORD_FILE names, "
                + "or use a client certificate (sslcert, sslkey)"
        case .unknownParameter(let name): "the database URI's parameter \(name) is not one Warden knows"
        case .missing(let what): "the database URI needs \(what)"
        case .malformed(let what): "the database URI's \(what) is malformed"
        }
    }
}
