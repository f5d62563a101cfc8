import Boot
import Foundation
import Images
import Logging
import NIOCore
import Server
import Store

/// The boot services of `warden serve`: the TFTP root filled, then TFTP, ProxyDHCP and boot
/// HTTP opened as `configuration` says, each saying where it listens.
struct BootListeners {
    let configuration: WardenConfiguration
    let logger: Logger

    /// Fills the TFTP root from the firmware manifest (its EFI files signed with the Secure
    /// Boot db key when the state folder has one), before the attestation service reads
    /// the served iPXE binaries' digests from it. A root left with nothing to boot is refused:
    /// the boot services would answer every machine with a file that is not there.
    func installFirmware(state: StateFolder) throws {
        let manifest: FirmwareFiles
        do { manifest = try FirmwareFiles(configuration) } catch { throw ServeFailure(error.description) }
        let keys = SecureBootKeys(folder: state)
        guard !keys.incomplete else {
            throw ServeFailure(
                "\(state.path)/secureboot holds Secure Boot keys but not the db certificate and key: iPXE would go unsigned to machines that enforce Secure Boot; restore db.pem and db.key"
            )
        }
        if configuration.enrolmentImage != nil {
            // Enrolment on, with nothing to enrol: every machine in setup mode would be refused.
            do { _ = try keys.enrolmentUpdates() } catch {
                throw ServeFailure(
                    "secureBootEnrolmentImage is set, but \(error) (warden secureboot init makes the rack's keys and their updates)"
                )
            }
        }
        let signer = keys.imageSigner
        let missing: [String]
        do { missing = try manifest.install(into: state.tftpRoot, signingWith: signer) } catch {
            throw ServeFailure("the TFTP root \(state.tftpRoot) cannot be filled: \(error)")
        }
        if signer != nil {
            logger.info("iPXE's EFI builds signed with the Secure Boot db key", metadata: ["root": "\(state.tftpRoot)"])
        }
        for source in missing {
            logger.warning("firmware \(source) is missing; not served (install Debian's ipxe package)")
        }
        guard missing.count < manifest.files.count else {
            throw ServeFailure(
                "the TFTP root \(state.tftpRoot) would hold no boot file: none of \(missing.joined(separator: ", ")) exists; install Debian's ipxe package (apt-get install ipxe) or set firmware (WARDEN_FIRMWARE) to a manifest of your iPXE builds"
            )
        }
    }

    /// Starts the TFTP server on the filled root.
    func startTFTP(state: StateFolder) async throws -> TFTPServer {
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
                settings: settings, events: events)
        }
        logger.info(
            "TFTP on \(configuration.bootHost):\(server.port)",
            metadata: ["listener": "tftp", "port": "\(server.port)", "root": "\(state.tftpRoot)"])
        return server
    }

    /// Starts the boot HTTP server: each machine's script from the store, firmware from the
    /// TFTP root, images (checked against their digests) from the image store.
    func startBootHTTP(state: StateFolder, store: EnrolmentStore, images: ImageFiles, bounds: AnonymousBounds)
        async throws -> BootHTTPServer
    {
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
                    enrolmentImage: configuration.enrolmentImage,
                    refusals: bounds.refusals, discoveries: bounds.discoveries),
                settings: settings, events: events)
        }
        logger.info(
            "boot HTTP on \(configuration.bootHost):\(server.port)",
            metadata: ["listener": "boot-http", "port": "\(server.port)"])
        return server
    }

    /// Starts ProxyDHCP on the DHCP and PXE boot-server ports.
    func startProxyDHCP() async throws -> ProxyDHCPServer {
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
                replyAddress: address, responder: ProxyDHCPResponder(settings: settings), events: events)
        }
        logger.info(
            "ProxyDHCP on \(configuration.bootHost):\(server.ports.dhcp) and :\(server.ports.bootServer)",
            metadata: [
                "listener": "proxydhcp", "port": "\(server.ports.dhcp)", "bootServerPort": "\(server.ports.bootServer)",
            ])
        return server
    }

    /// The boot services' events, one log line each under the service's component (`dhcp`,
    /// `tftp`, `http`), which the lab's timeline reads.
    private let events = BootEventLog { service, message in Logger(label: "warden." + service).info("\(message)") }

    /// Opens a boot listener, naming it, its port and its setting when that fails.
    private func listening<Listener>(
        _ listener: String, _ host: String, _ ports: String, _ setting: String,
        _ start: () async throws -> Listener
    ) async throws -> Listener {
        do { return try await start() } catch let error as IOError {
            throw ServeFailure.listening(error, listener: listener, host: host, ports: ports, setting: setting)
        }
    }
}
