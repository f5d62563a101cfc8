import ArgumentParser
import Audit
import Foundation
import Logging
import Server
import ServiceLifecycle
import Store

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
        let defaultFile = FileManager.default.fileExists(atPath: "Config/warden.yaml") ? "Config/warden.yaml" : nil
        var configuration = try WardenConfiguration.load(file: config ?? defaultFile, environment: ProcessInfo.processInfo.environment)
        if let stateDir { configuration.stateDir = stateDir }
        let state = try StateFolder.initialise(at: configuration.stateDir, serverNames: configuration.serverNames)
        let store = try EnrolmentStore(
            path: state.databasePath, key: state.keyEncryptionKey(),
            auditSigner: state.auditKey().checkpointSigner(interval: Int64(configuration.auditCheckpointInterval)))
        var logger = Logger(label: "warden")
        logger.logLevel = .info
        let settings = configuration
        let application = try WardenServer.application(state: state, store: store, configuration: configuration) { port in
            try? store.audit(actor: "system", action: "server-start", subject: "server", details: "listening on \(settings.apiHost):\(port)")
            FileHandle.standardOutput.write(Data("warden: serving https://\(settings.apiHost):\(port) (server CA \(state.url(.serverCA).path), state \(settings.stateDir))\n".utf8))
        }
        let group = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try? store.audit(actor: "system", action: "server-stop", subject: "server", details: "stopped gracefully")
        try? store.checkpointAudit()
        print("warden: stopped")
    }
}
