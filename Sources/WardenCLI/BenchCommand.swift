import ArgumentParser

/// `warden bench …`: performance measurements (see `make bench`).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Warden's performance against named peers.",
        subcommands: [BenchVerifyCommand.self, BenchAttestCommand.self, BenchAuditCommand.self, BenchTFTPCommand.self, BenchHTTPCommand.self, BenchDHCPCommand.self, BenchLoopsCommand.self]
    )
}
