import ArgumentParser
import Foundation

/// How a command prints its result: text for people, JSON or YAML for programs, the same
/// fields either way (`warden-bench` prints its reports the same way).
package enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
    case yaml

    /// Prints `value` as JSON or YAML, every field present (an absent one as null), and
    /// returns true; returns false for text, which the command writes its own way.
    package func printed(_ value: some Encodable) throws -> Bool {
        let tree = try OutputTree.of(value)
        switch self {
        case .text: return false
        case .json: FileHandle.standardOutput.write(Data((tree.json() + "\n").utf8))
        case .yaml: FileHandle.standardOutput.write(Data((tree.yaml() + "\n").utf8))
        }
        return true
    }
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
