import ArgumentParser
import Audit
import Boot
import Foundation
import Images
import Logging
import Metrics
import NIOCore
import Server
import ServiceLifecycle
import Store
import WardenCLI

/// `warden serve`: the appliance. Initialises the state folder on first start, then serves
/// the agent and admin APIs until SIGTERM or SIGINT, when it stops gracefully.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run Warden's server (state folder, HTTPS agent and admin APIs).",
        discussion: """
            Settings come from the embedded development defaults, then Config/warden.yaml (or \
            --config), then WARDEN_* environment variables, then --state-dir.
            """
    )

    @Option(help: "The state folder (default from the configuration: .warden).")
    var stateDir: String?

    @Option(help: "The configuration file (default: Config/warden.yaml when it exists).")
    var config: String?

    func run() async throws {
        let configuration: WardenConfiguration
        do { configuration = try WardenConfiguration.fromEnvironment(file: config, stateDir: stateDir) } catch {
            FileHandle.standardError.write(Data("warden: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        let logger = ServeTelemetry.start(configuration)
        // Whatever ends the process, the lines logged so far are written first.
        defer { LogOutput.standardError.flush() }
        let metrics = ServeTelemetry.startMetrics()
        do {
            try await serve(configuration, logger: logger, metrics: metrics)
        } catch let failure as ServeFailure {
            logger.error("\(failure.description)")
            throw ExitCode(1)
        }
    }

    private func serve(_ configuration: WardenConfiguration, logger: Logger, metrics: MetricsScrape) async throws {
        // Held until the process ends: a second `warden serve` on this folder stops here.
        let lock: StateFolderLock
        do { lock = try StateFolderLock(folder: configuration.stateDir, holder: "warden serve") } catch {
            throw ServeFailure(error.description)
        }
        let state = try StateFolder.initialise(at: configuration.stateDir, serverNames: configuration.serverNames)
        var limits = EnrolmentStore.Limits()
        limits.maxDiscoveredMachines = configuration.maxDiscoveredMachines
        limits.discoveredMachineLifetime = TimeInterval(configuration.discoveredMachineLifetime)
        limits.registrationLifetime = TimeInterval(configuration.registrationLifetime)
        let store = try EnrolmentStore(
            location: configuration.storeLocation(in: state), key: state.keyEncryptionKey(),
            auditSigner: state.auditKey().checkpointSigner(interval: Int64(configuration.auditCheckpointInterval)),
            appliance: configuration.applianceName, limits: limits)
        let certified = try state.serverCertificateNames()
        if Set(certified) != Set(configuration.serverNames) {
            logger.warning(
                "serverNames (\(configuration.serverNames.joined(separator: ", "))) differ from the names of the server certificate (\(certified.joined(separator: ", "))), which agents check: stop, run `warden server-cert reissue`, and start again"
            )
        }
        // Recorded among the appliances sharing the database; one an operator removed stops here.
        try store.registerAppliance(
            name: configuration.applianceName, serverCertificateSHA256: try state.serverCertificateSHA256())
        let settings = configuration
        let systemd = SystemdNotification()
        FileDescriptorLimit.raise(toHold: configuration)
        let boot = BootListeners(configuration: configuration, logger: logger)
        try boot.installFirmware(state: state)
        // One catalogue, one image store and one cache of checked files for the admin API
        // and boot HTTP alike. Records of images an earlier Warden added are completed first
        // (measurements for policies that follow them, signatures of the legacy sections, bytes
        // in the database); images other appliances added are fetched by Housekeeping.
        let images = try state.imageCatalogue(store: store)
        for line in images.completeRecords(actor: "system (upgrade)") { logger.info("\(line)") }
        for line in images.signForSecureBoot(actor: "system (Secure Boot)") { logger.info("\(line)") }
        let bounds = AnonymousBounds(store: store, configuration: configuration)
        let application = try WardenServer.application(
            state: state, store: store, configuration: configuration, bounds: bounds, images: images, metrics: metrics
        ) { port in
            try? store.audit(
                actor: "system", action: "server-start", subject: "server",
                details: "listening on \(settings.apiHost):\(port)")
            systemd.ready(status: "serving https://\(settings.apiHost):\(port)")
            logger.notice(
                "serving https://\(settings.apiHost):\(port)",
                metadata: [
                    "listener": "api", "port": "\(port)", "serverCA": "\(state.url(.serverCA).path)",
                    "stateDir": "\(settings.stateDir)", "appliance": "\(settings.applianceName)",
                ])
        }
        let tftp = try await boot.startTFTP(state: state)
        let proxyDHCP = try await boot.startProxyDHCP()
        let bootHTTP = try await boot.startBootHTTP(state: state, store: store, images: images.files, bounds: bounds)
        let bootMetrics = BootMetrics()
        metrics.beforeScrape {
            bootMetrics.update { (proxyDHCP.counters, tftp.statistics, bootHTTP.statistics) }
            if let checkpoint = try? store.latestAuditCheckpoint() {
                Gauge(label: "warden_audit_checkpoint_age_seconds").record(
                    Date().timeIntervalSince(checkpoint.signedAt))
            }
        }
        // Started in this order, stopped in the reverse: the API first, housekeeping last
        // (it writes the refusal summaries still open).
        let services: [any Service] = [
            Housekeeping(
                store: store, refusals: bounds.refusals, images: images, applianceName: configuration.applianceName,
                logger: Logger(label: "warden.housekeeping")),
            BootListenerService("TFTP on \(configuration.bootHost):\(tftp.port)", tftp),
            BootListenerService(
                "ProxyDHCP on \(configuration.bootHost):\(proxyDHCP.ports.dhcp) and :\(proxyDHCP.ports.bootServer)",
                proxyDHCP),
            BootListenerService("boot HTTP on \(configuration.bootHost):\(bootHTTP.port)", bootHTTP),
            application,
        ]
        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "warden.services")))
        do {
            try await group.run()
        } catch let error as IOError where [EADDRINUSE, EACCES, EADDRNOTAVAIL].contains(error.errnoCode) {
            // The only listener the group opens itself: the HTTPS API; these are bind's errors.
            throw ServeFailure.listening(
                error, listener: "HTTPS API", host: configuration.apiHost, ports: "\(configuration.apiPort)",
                setting: "apiPort (WARDEN_API_PORT)")
        } catch {
            systemd.stopping()
            logger.critical("\(error)")
            try? store.audit(actor: "system", action: "server-stop", subject: "server", details: "stopped: \(error)")
            try? store.checkpointAudit()
            throw ExitCode(70)
        }
        systemd.stopping()
        try? store.audit(actor: "system", action: "server-stop", subject: "server", details: "stopped gracefully")
        try? store.checkpointAudit()
        logger.notice("stopped")
        withExtendedLifetime(lock) {}
    }
}
