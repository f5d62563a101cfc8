import Foundation
import Hummingbird
import Images
import HummingbirdTLS
import NIOSSL
import Store

/// The HTTPS listener for the agent and admin APIs, with the state folder's server
/// certificate. Client certificates are optional at the TLS layer (agents have none); when
/// presented they must chain to the client CA, and the admin routes require one.
public enum WardenServer {
    /// An application on `configuration`'s API address (port 0 picks a free port, reported
    /// to `onServerRunning`).
    public static func application(
        state: StateFolder, store: EnrolmentStore, configuration: WardenConfiguration,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let chain = try NIOSSLCertificate.fromPEMFile(state.url(.serverCertificate).path).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: state.url(.serverKey).path, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .file(state.url(.clientCA).path)
        let served = ServedBootApplications.measurements(root: state.tftpRoot, names: ((try? FirmwareFiles(path: configuration.firmware))?.files ?? [:]).keys)
        let attestation = AttestationService(store: store, releaseKey: try state.releaseKey(), servedBootApplications: served)
        let admin = try AdminService(store: store, state: state, vendorCAs: configuration.tpmVendorCAs, servedBootApplications: served)
        let router = Router(context: WardenRequestContext.self)
        let limiter = RateLimitMiddleware(
            limiter: RateLimiter(perSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst),
            audit: { details in try? store.auditRefusal(actor: "anonymous", subject: "rate-limit", details: details) })
        let releaseCertificate = try String(contentsOf: state.url(.releaseCertificate), encoding: .utf8)
        let bodyLimit = BodyLimitMiddleware(limit: configuration.maxBodyBytes)
        AgentAPI.addRoutes(to: router, service: attestation, releaseCertificate: releaseCertificate, limiter: limiter, bodyLimit: bodyLimit)
        AdminAPI.addRoutes(to: router, service: admin, limiter: limiter, bodyLimit: bodyLimit, maxImageBytes: configuration.maxImageBytes)
        return Application(
            router: router,
            server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname(configuration.apiHost, port: configuration.apiPort), serverName: "warden"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.apiPort) }
        )
    }
}
