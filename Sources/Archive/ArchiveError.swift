/// A libarchive operation failed.
public struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What Warden was doing.
    public let operation: String
    /// libarchive's message.
    public let message: String

    public var description: String { "archive: cannot \(operation): \(message)" }
}
