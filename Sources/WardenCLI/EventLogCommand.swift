import ArgumentParser
import TPM
import TSS

/// `warden eventlog …`
package struct EventLogCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "eventlog",
        abstract: "Work with TCG PC Client measured-boot event logs.",
        subcommands: [EventLogShowCommand.self]
    )

    package init() {}
}

/// `warden eventlog show FILE`: every event and the replayed PCRs.
struct EventLogShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Decode an event log and replay it into PCR values.",
        discussion: "Exit status: 0 when the log parses, 1 when it is invalid, 2 when it cannot be read."
    )

    @Argument(help: "The event log (binary_bios_measurements).")
    var file: String

    @Option(name: [.customShort("o"), .long], help: "Output: text, json or yaml.")
    var format: OutputFormat = .text

    func run() throws {
        let bytes = try InputFile.read(file, as: "event log")
        let log: EventLog
        do { log = try EventLog.parse(bytes) } catch {
            InputFile.printError(error.description)
            throw ExitStatus.rejected
        }
        let report = EventLogReport(log)
        if !(try format.printed(report)) { print(report.text) }
    }
}
