import ArgumentParser
import WardenAPI
import WardenCLI

/// The `warden` command: the server, the operator CLI and the verifier's tools.
@available(macOS 13, *)
public struct WardenCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Bare-metal provisioning and TPM attestation.",
        version: WardenVersion.release,
        subcommands: [
            ServeCommand.self, MachineCommand.self, AttestationCommand.self, ClusterCommand.self, PolicyCommand.self,
            OperatorCommand.self,
            ImageCommand.self, AuditCommand.self, QuoteCommand.self, EventLogCommand.self, StoreCommand.self,
            ApplianceCommand.self, KeysCommand.self, VersionCommand.self, ContextCommand.self, WhoamiCommand.self,
            CompletionCommand.self,
            ServerCertificateCommand.self, SecureBootCommand.self,
        ]
    )

    public init() {}
}

@available(macOS 13, *)
extension WardenCommand {
    /// Parses the command line (completing names asynchronously when a shell asks) and runs
    /// the chosen command.
    public static func runAsRoot() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
