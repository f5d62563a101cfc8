import ArgumentParser
import Audit
import Boot
import Foundation
import Images
import Logging
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
        do {
            try await serve()
        } catch let failure as ServeFailure {
            warn(failure.description)
            throw ExitCode(1)
        }
    }

    private func serve() async throws {
        let configuration: WardenConfiguration
        do { configuration = try WardenConfiguration.fromEnvironment(file: config, stateDir: stateDir) } catch {
            throw ServeFailure(error.description)
        }
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
            warn(
                "serverNames (\(configuration.serverNames.joined(separator: ", "))) differ from the names of the server certificate (\(certified.joined(separator: ", "))), which agents check: stop, run `warden server-cert reissue`, and start again"
            )
        }
        // Recorded among the appliances sharing the database; one an operator removed stops here.
        try store.registerAppliance(
            name: configuration.applianceName, serverCertificateSHA256: try state.serverCertificateSHA256())
        var logger = Logger(label: "warden")
        logger.logLevel = .info
        let settings = configuration
        FileDescriptorLimit.raise(toHold: configuration)
        try installFirmware(configuration, state: state)
        // One catalogue, one image store and one cache of checked files for the admin API
        // and boot HTTP alike. Records of images an earlier Warden added are completed first
        // (measurements for policies that follow them, signatures of the legacy sections, bytes
        // in the database); images other appliances added are fetched by Housekeeping.
        let images = try state.imageCatalogue(store: store)
        for line in images.completeRecords(actor: "system (upgrade)") {
            FileHandle.standardOutput.write(Data("warden: \(line)\n".utf8))
        }
        let bounds = AnonymousBounds(store: store, configuration: configuration)
        let application = try WardenServer.application(
            state: state, store: store, configuration: configuration, bounds: bounds, images: images
        ) { port in
            try? store.audit(
                actor: "system", action: "server-start", subject: "server",
                details: "listening on \(settings.apiHost):\(port)")
            FileHandle.standardOutput.write(
                Data(
                    "warden: serving https://\(settings.apiHost):\(port) (server CA \(state.url(.serverCA).path), state \(settings.stateDir))\n"
                        .utf8))
        }
        let tftp = try await startTFTP(configuration, state: state)
        let proxyDHCP = try await startProxyDHCP(configuration)
        let bootHTTP = try await startBootHTTP(
            configuration, state: state, store: store, images: images.files, bounds: bounds)
        // Started in this order, stopped in the reverse: the API first, housekeeping last
        // (it writes the refusal summaries still open).
        let services: [any Service] = [
            Housekeeping(
                store: store, refusals: bounds.refusals, images: images, applianceName: configuration.applianceName,
                logger: logger),
            BootListenerService("TFTP on \(configuration.bootHost):\(tftp.port)", tftp),
            BootListenerService(
                "ProxyDHCP on \(configuration.bootHost):\(proxyDHCP.ports.dhcp) and :\(proxyDHCP.ports.bootServer)",
                proxyDHCP),
            BootListenerService("boot HTTP on \(configuration.bootHost):\(bootHTTP.port)", bootHTTP),
            application,
        ]
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as IOError where "\(error)".contains("bind(") {
            // The only listener the group opens itself: the HTTPS API.
            throw ServeFailure.listening(
                error, listener: "HTTPS API", host: configuration.apiHost, ports: "\(configuration.apiPort)",
                setting: "apiPort (WARDEN_API_PORT)")
        } catch {
            warn("\(error)")
            try? store.audit(actor: "system", action: "server-stop", subject: "server", details: "stopped: \(error)")
            try? store.checkpointAudit()
            throw ExitCode(70)
        }
        try? store.audit(actor: "system", action: "server-stop", subject: "server", details: "stopped gracefully")
        try? store.checkpointAudit()
        print("warden: stopped")
        withExtendedLifetime(lock) {}
    }

    /// Fills the TFTP root from the firmware manifest, before the attestation service reads
    /// the served iPXE binaries' digests from it. A root left with nothing to boot is refused:
    /// the boot services would answer every machine with a file that is not there.
    private func installFirmware(_ configuration: WardenConfiguration, state: StateFolder) throws {
        let manifest: FirmwareFiles
        do { manifest = try FirmwareFiles(configuration) } catch { throw ServeFailure(error.description) }
        let missing = try manifest.install(into: state.tftpRoot)
        for source in missing { warn("firmware \(source) is missing; not served (install Debian's ipxe package)") }
        guard missing.count < manifest.files.count else {
            throw ServeFailure(
                "the TFTP root \(state.tftpRoot) would hold no boot file: none of \(missing.joined(separator: ", ")) exists; install Debian's ipxe package (apt-get install ipxe) or set firmware (WARDEN_FIRMWARE) to a manifest of your iPXE builds"
            )
        }
    }

    /// Starts the TFTP server on the filled root.
    private func startTFTP(_ configuration: WardenConfiguration, state: StateFolder) async throws -> TFTPServer {
        var settings = TFTPServer.Settings()
        settings.maxTransfers = configuration.tftpMaxTransfers
        settings.maxTransfersPerSource = configuration.tftpMaxTransfersPerSource
        settings.limits.maxTimeoutSeconds = configuration.tftpMaxTimeout
        settings.startTimeout = .seconds(Int64(configuration.tftpStartTimeout))
        let server = try await listening(
            "TFTP", configuration.bootHost, "\(configuration.tftpPort)", "tftpPort (WARDEN_TFTP_PORT)"
        ) {
            try await TFTPServer.start(
                host: configuration.bootHost, port: configuration.tftpPort, root: BootFileRoot(path: state.tftpRoot),
                settings: settings, events: Self.events)
        }
        FileHandle.standardOutput.write(
            Data("warden: TFTP on \(configuration.bootHost):\(server.port) (root \(state.tftpRoot))\n".utf8))
        return server
    }

    /// Starts the boot HTTP server: each machine's script from the store, firmware from the
    /// TFTP root, images (checked against their digests) from the image store.
    private func startBootHTTP(
        _ configuration: WardenConfiguration, state: StateFolder, store: EnrolmentStore, images: ImageFiles,
        bounds: AnonymousBounds
    ) async throws -> BootHTTPServer {
        var settings = BootHTTPServer.Settings()
        settings.maxConnections = configuration.bootHTTPMaxConnections
        settings.maxConnectionsPerSource = configuration.bootHTTPMaxConnectionsPerSource
        settings.idleSeconds = Int64(configuration.bootHTTPIdleTimeout)
        let server = try await listening(
            "boot HTTP", configuration.bootHost, "\(configuration.bootHTTPPort)", "bootHTTPPort (WARDEN_BOOT_HTTP_PORT)"
        ) {
            try await BootHTTPServer.start(
                host: configuration.bootHost, port: configuration.bootHTTPPort,
                firmware: BootFileRoot(path: state.tftpRoot),
                images: images,
                scripts: MachineBootScripts(
                    store: store, imageTrust: configuration.bootImageTrust,
                    discoveryImage: configuration.discoveryImage.isEmpty ? nil : configuration.discoveryImage,
                    refusals: bounds.refusals, discoveries: bounds.discoveries),
                settings: settings, events: Self.events)
        }
        FileHandle.standardOutput.write(Data("warden: boot HTTP on \(configuration.bootHost):\(server.port)\n".utf8))
        return server
    }

    /// Starts ProxyDHCP on the DHCP and PXE boot-server ports.
    private func startProxyDHCP(_ configuration: WardenConfiguration) async throws -> ProxyDHCPServer {
        let address = configuration.effectiveBootServerAddress
        var settings = ProxyDHCPResponder.Settings(
            serverAddress: IPv4.bytes(address) ?? [127, 0, 0, 1], httpBase: configuration.bootHTTPBase)
        settings.arm64File = configuration.arm64BootFile.isEmpty ? nil : configuration.arm64BootFile
        let server = try await listening(
            "ProxyDHCP", configuration.bootHost, "\(configuration.proxyDHCPPort) and \(configuration.proxyDHCPAltPort)",
            "proxyDHCPPort and proxyDHCPAltPort (WARDEN_PROXYDHCP_PORT, WARDEN_PROXYDHCP_ALT_PORT)"
        ) {
            try await ProxyDHCPServer.start(
                host: configuration.bootHost, dhcpPort: configuration.proxyDHCPPort,
                bootServerPort: configuration.proxyDHCPAltPort,
                replyAddress: address, responder: ProxyDHCPResponder(settings: settings), events: Self.events)
        }
        FileHandle.standardOutput.write(
            Data(
                "warden: ProxyDHCP on \(configuration.bootHost):\(server.ports.dhcp) and :\(server.ports.bootServer)\n"
                    .utf8))
        return server
    }

    /// The boot services' events on standard output, each with the time (seconds since the
    /// epoch, to the millisecond), which the lab's timeline reads.
    private static let events = BootEventLog { line in
        FileHandle.standardOutput.write(
            Data((String(format: "warden: [%.3f] ", Date().timeIntervalSince1970) + line + "\n").utf8))
    }

    /// Opens a boot listener, naming it, its port and its setting when that fails.
    private func listening<Listener>(
        _ listener: String, _ host: String, _ ports: String, _ setting: String,
        _ start: () async throws -> Listener
    ) async throws -> Listener {
        do { return try await start() } catch let error as IOError {
            throw ServeFailure.listening(error, listener: listener, host: host, ports: ports, setting: setting)
        }
    }

    private func warn(_ message: String) {
        FileHandle.standardError.write(Data("warden: \(message)\n".utf8))
    }
}
