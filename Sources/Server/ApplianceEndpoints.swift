import Foundation

/// Where this appliance's HTTPS API answers: the names its server certificate carries and
/// the address it listens on, at its API port. A cluster's K3s server must be somewhere else.
public struct ApplianceEndpoints: Sendable, Equatable {
    /// Lower-cased host names and addresses.
    public let hosts: Set<String>
    public let port: Int

    public init(hosts: some Sequence<String>, port: Int) {
        self.hosts = Set(hosts.map { $0.lowercased() })
        self.port = port
    }

    /// The endpoints of an appliance configured as `configuration` is.
    public init(_ configuration: WardenConfiguration) {
        let listening = ["0.0.0.0", "::"].contains(configuration.apiHost) ? [] : [configuration.apiHost]
        self.init(hosts: configuration.serverNames + listening, port: configuration.apiPort)
    }

    /// An appliance that answers nowhere (tests of the admin service alone).
    public static let none = ApplianceEndpoints(hosts: [], port: 0)

    /// Whether `url` (https, port 443 unless it names one) reaches this appliance's API.
    public func contains(_ url: URL) -> Bool {
        guard let host = url.host?.lowercased() else { return false }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return hosts.contains(bare) && (url.port ?? 443) == port
    }
}
