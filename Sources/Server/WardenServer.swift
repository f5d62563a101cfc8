import Hummingbird
import HummingbirdTLS
import NIOSSL

/// The HTTPS listener for the agent API, with the state folder's server certificate.
public enum WardenServer {
    /// An application serving `service` on `host:port` (0 picks a free port, reported to
    /// `onServerRunning`).
    public static func application(
        state: StateFolder, service: AttestationService, host: String = "127.0.0.1", port: Int = 8443,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let chain = try NIOSSLCertificate.fromPEMFile(state.url(.serverCertificate).path).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: state.url(.serverKey).path, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return Application(
            router: AgentAPI.router(service),
            server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname(host, port: port), serverName: "warden"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) }
        )
    }
}
