import ArgumentParser

/// `warden bench …`: performance measurements (see `make bench`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Warden's performance against named peers.",
        subcommands: [BenchVerifyCommand.self]
    )
}
