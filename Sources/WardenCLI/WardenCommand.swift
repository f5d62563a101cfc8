import ArgumentParser

/// The `warden` command: the verifier's CLI (and, later, the server and the operator CLI).
public struct WardenCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Bare-metal provisioning and TPM attestation.",
        subcommands: [QuoteCommand.self, EventLogCommand.self, BenchCommand.self]
    )

    public init() {}
}

/// How a read command prints its result.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
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
