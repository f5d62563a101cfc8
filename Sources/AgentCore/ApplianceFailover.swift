#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WardenClient

/// Warden's appliances as a node tries them: in the order given, the next one when one
/// cannot be reached, is not the server the CA vouches for, or answers that it cannot serve
/// now (`503`, `429`); after every one failed, again after a pause that doubles (1 s, 2 s, 4 s,
/// up to 30 s) until `patience` is spent. A refusal (the verdict) is final: every appliance
/// judges alike.
public struct ApplianceFailover: Sendable {
    public let servers: [String]
    public let patience: Duration
    /// Told each failure that sends the node on to the next appliance.
    private let report: @Sendable (String) -> Void

    public init(servers: [String], patience: Duration, report: @escaping @Sendable (String) -> Void) {
        precondition(!servers.isEmpty, "at least one appliance")
        self.servers = servers
        self.patience = patience
        self.report = report
    }

    /// What `body` returns from the first appliance that serves it.
    public func run<T>(_ body: (String) async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        var pause = Duration.seconds(1)
        while true {
            var lastFailure: any Error = AgentError.unavailable("no appliance was tried")
            for server in servers {
                do {
                    return try await body(server)
                } catch  where Self.isPassing(error) {
                    report("\(server): \(error)")
                    lastFailure = error
                }
            }
            guard clock.now + pause < deadline else { throw lastFailure }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(30))
        }
    }

    /// Whether `error` is the appliance's, not the verdict: another may serve.
    static func isPassing(_ error: any Error) -> Bool {
        switch error {
        case AgentError.unavailable: true
        case ClientError.connection, ClientError.untrustedServer, ClientError.protocolError: true
        default: false
        }
    }
}
