/// Why a call to Warden failed before any answer was read.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not `https://HOST[:PORT]`.
    case badURL(String)
    /// The server is not the one the CA vouches for, or not for server authentication.
    case untrustedServer(String)
    /// Connecting, sending or receiving failed.
    case connection(String)
    /// The server's answer broke the protocol.
    case protocolError(String)

    public var description: String {
        switch self {
        case .badURL(let url): "\(url) is not an https://HOST[:PORT] URL"
        case .untrustedServer(let why): "the server is not trusted: \(why)"
        case .connection(let why): "connection failed: \(why)"
        case .protocolError(let why): "protocol error: \(why)"
        }
    }
}

/// `https://HOST[:PORT]` split into its host and port (443 by default).
enum ServerURL {
    static func split(_ url: String) throws(ClientError) -> (host: String, port: Int) {
        guard url.hasPrefix("https://") else { throw .badURL(url) }
        var rest = url.dropFirst("https://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@") else { throw .badURL(url) }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .badURL(url) }
            let host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.isEmpty { return (host, 443) }
            guard after.hasPrefix(":"), let port = Int(after.dropFirst()), (1...65535).contains(port) else {
                throw .badURL(url)
            }
            return (host, port)
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { throw .badURL(url) }
        guard parts.count == 2 else { return (String(parts[0]), 443) }
        guard let port = Int(parts[1]), (1...65535).contains(port) else { throw .badURL(url) }
        return (String(parts[0]), port)
    }
}
