import Boot
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Images
import Logging
import NIOCore
import NIOHTTPTypes
import NIOSSL
import NIOTLS
import Store

/// The HTTPS listener for the agent and admin APIs, with the state folder's server
/// certificate. Client certificates are optional at the TLS layer (agents have none); when
/// presented they must chain to the client CA, and the admin routes require one.
///
/// Anyone on the boot network can open connections and go silent halfway: connections are
/// bounded in total and per source address (``ConnectionLimiter``), the handshake, each
/// request's head and each body have deadlines (``ConnectionGuard``), and request bodies
/// held in memory share one budget (``BodyBudget``).
public enum WardenServer {
    /// An application on `configuration`'s API address (port 0 picks a free port, reported
    /// to `onServerRunning`). `bounds` are shared with the boot services.
    public static func application(
        state: StateFolder, store: EnrolmentStore, configuration: WardenConfiguration, bounds: AnonymousBounds? = nil,
        images: ImageCatalogue? = nil, metrics: MetricsScrape? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let bounds = bounds ?? AnonymousBounds(store: store, configuration: configuration)
        let chain = try NIOSSLCertificate.fromPEMFile(state.url(.serverCertificate).path).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = try NIOSSLPrivateKey(file: state.url(.serverKey).path, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .file(state.url(.clientCA).path)
        // A closing connection waits this long for the client's close_notify; the guard reads
        // nothing meanwhile, so a client that never answers holds its place no longer.
        tls.shutdownTimeout = .seconds(2)
        let served = ServedBootApplications.measurements(
            root: state.tftpRoot, names: ((try? FirmwareFiles(configuration))?.files ?? [:]).keys)
        let vendorCAs = try TPMVendorCAs(paths: configuration.tpmVendorCAs)
        let attestation = AttestationService(
            store: store, releaseKey: try state.releaseKey(), servedBootApplications: served, refusals: bounds.refusals,
            discoveries: bounds.discoveries,
            vendorCAs: vendorCAs, logger: Logger(label: "warden.attestation"))
        let admin = try AdminService(
            store: store, state: state, vendorCAs: vendorCAs, servedBootApplications: served, images: images,
            endpoints: ApplianceEndpoints(configuration))
        let router = Router(context: WardenRequestContext.self)
        router.add(middleware: ResponseMetricsMiddleware())
        let limiter = RateLimitMiddleware(
            limiter: RateLimiter(perSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst),
            refusals: bounds.refusals)
        let releaseCertificate = try String(contentsOf: state.url(.releaseCertificate), encoding: .utf8)
        let bodyLimit = BodyLimitMiddleware(
            limit: configuration.maxBodyBytes, budget: BodyBudget(bytes: configuration.maxBodyBytesInFlight))
        let enrolment = SecureBootEnrolmentService(
            store: store, keys: SecureBootKeys(folder: state), attestation: attestation,
            releaseKey: try state.releaseKey(), releaseCertificate: releaseCertificate, refusals: bounds.refusals,
            enrolmentImage: configuration.enrolmentImage, logger: Logger(label: "warden.secureboot"))
        HealthAPI.addRoutes(to: router, store: store, limiter: limiter)
        AgentAPI.addRoutes(
            to: router, service: attestation, enrolment: enrolment, releaseCertificate: releaseCertificate,
            limiter: limiter, bodyLimit: bodyLimit, pool: BlockingPools.agentRequests(on: store))
        AdminAPI.addRoutes(
            to: router, service: admin, limiter: limiter, bodyLimit: bodyLimit,
            maxImageBytes: configuration.maxImageBytes,
            exports: ExportGate(limit: configuration.maxConcurrentExports), metrics: metrics,
            logger: Logger(label: "warden.admin"))
        let connections = ConnectionLimiter(
            .init(
                total: configuration.apiMaxConnections, perSource: configuration.apiMaxConnectionsPerSource,
                perSourcePerSecond: configuration.apiHandshakesPerSecondPerSource))
        let timeouts = ConnectionTimeouts(
            handshake: .seconds(Int64(configuration.apiHandshakeTimeout)),
            idle: .seconds(Int64(configuration.apiIdleTimeout)),
            body: .seconds(Int64(configuration.apiBodyTimeout)), minimumBodyRate: configuration.apiMinimumBodyRate,
            assumedBodyLength: configuration.maxBodyBytes)
        let http = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionGuard<HTTPTypesParts>(
                    limiter: connections, timeouts: timeouts, isHandshakeCompletion: isHandshakeCompletion)
            ])
        return Application(
            router: router,
            server: try .tls(.http1(configuration: http), tlsConfiguration: tls),
            configuration: .init(
                address: .hostname(configuration.apiHost, port: configuration.apiPort), serverName: "warden"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.apiPort) },
            logger: Logger(label: "warden.api")
        )
    }

    /// Whether a user event says the TLS handshake is done.
    @Sendable static func isHandshakeCompletion(_ event: Any) -> Bool {
        if case .handshakeCompleted = event as? TLSUserEvent { true } else { false }
    }
}

/// What bounds the records and the work that requests nobody authenticated cause, shared by
/// the HTTPS API and the boot services.
public struct AnonymousBounds: Sendable {
    /// Audits their refusals in bounded form.
    public let refusals: RefusalAudit
    /// How fast new discovered machines may be recorded.
    public let discoveries: DiscoveryPace

    public init(store: EnrolmentStore, configuration: WardenConfiguration) {
        refusals = RefusalAudit(
            store: store, interval: TimeInterval(configuration.refusalAuditInterval),
            logger: Logger(label: "warden.refusals"))
        discoveries = DiscoveryPace(
            perMinutePerSource: configuration.discoveriesPerMinutePerSource,
            perMinute: configuration.discoveriesPerMinute)
    }
}

/// Swift HTTP Types' parts, as Hummingbird's pipeline carries them, for ``ConnectionGuard``.
enum HTTPTypesParts: GuardedHTTPParts {
    static func classify(_ part: HTTPRequestPart) -> GuardedRequestPart {
        switch part {
        case .head(let head): .head(declaredBodyLength: head.headerFields[.contentLength].flatMap { Int($0) })
        case .body: .body
        case .end: .end
        }
    }

    static func isEnd(_ part: HTTPResponsePart) -> Bool {
        if case .end = part { true } else { false }
    }
}
