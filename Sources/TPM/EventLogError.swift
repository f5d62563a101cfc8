/// An event log that cannot be parsed: where and why.
public struct EventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset in the log where the problem was found.
    public let offset: Int
    /// Index of the event being read, when the problem is inside one.
    public let eventIndex: Int?
    /// What is wrong.
    public let reason: String

    public init(offset: Int, eventIndex: Int?, reason: String) {
        self.offset = offset
        self.eventIndex = eventIndex
        self.reason = reason
    }

    public var description: String {
        if let eventIndex { return "event log invalid at byte \(offset) (event \(eventIndex)): \(reason)" }
        return "event log invalid at byte \(offset): \(reason)"
    }
}
