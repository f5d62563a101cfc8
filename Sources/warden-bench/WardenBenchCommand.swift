import ArgumentParser

/// `warden-bench …`: Warden's performance measured against named peers (see `make bench*`).
/// Its own executable, so that `warden` and `warden-agent` ship no load generator, no
/// software TPM and no peer servers' harness.
@main
struct WardenBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden-bench",
        abstract: "Measure Warden's performance against named peers.",
        subcommands: [
            BenchVerifyCommand.self, BenchAttestCommand.self, BenchAuditCommand.self, BenchTFTPCommand.self,
            BenchHTTPCommand.self, BenchDHCPCommand.self,
            BenchLoopsCommand.self, BenchStreamCommand.self,
        ]
    )
}
