import ArgumentParser

/// How a read command prints its result (`warden-bench` prints its reports the same way).
package enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// Exit statuses shared by the commands.
package enum ExitStatus {
    /// The evidence was examined and rejected.
    package static let rejected = ExitCode(1)
    /// An input could not be read.
    package static let unreadableInput = ExitCode(2)
    /// The evidence holds, but nothing outside it anchored the key it was signed with.
    package static let unanchored = ExitCode(3)
}
