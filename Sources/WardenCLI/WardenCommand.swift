import ArgumentParser

/// The `warden` command: the server, the operator CLI and the verifier's tools.
@available(macOS 13, *)
public struct WardenCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Bare-metal provisioning and TPM attestation.",
        subcommands: [
            ServeCommand.self, MachineCommand.self, ClusterCommand.self, PolicyCommand.self, OperatorCommand.self,
            ImageCommand.self, AuditCommand.self, QuoteCommand.self, EventLogCommand.self,
        ]
    )

    public init() {}
}

/// How a read command prints its result (`warden-bench` prints its reports the same way).
package enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// Exit statuses shared by the commands.
enum ExitStatus {
    /// The evidence was examined and rejected.
    static let rejected = ExitCode(1)
    /// An input could not be read.
    static let unreadableInput = ExitCode(2)
}

@available(macOS 13, *)
extension WardenCommand {
    /// Parses the command line and runs the chosen command asynchronously.
    public static func runAsRoot() async {
        do {
            var command = try parseAsRoot()
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
