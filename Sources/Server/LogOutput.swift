import Foundation
import Synchronization

/// Where log lines go. Whoever logs (an event loop answering a boot request, say) only
/// queues the line; a thread of its own writes the queue out, each line whole. Anyone on the
/// boot network can make lines as fast as packets: a full queue drops lines and counts them,
/// and a line says how many, so that logging never slows serving nor grows memory.
public final class LogOutput: Sendable {
    /// Lines held for the writer at most.
    public static let capacity = 10_000

    private struct Queue {
        var lines: [String] = []
        var dropped = 0
        /// Whether the writer holds lines it took and has not written yet.
        var writing = false
        /// How the notice of dropped lines is written.
        var format = StructuredLogHandler.Format.logfmt
    }

    private let descriptor: Int32
    private let queue = Mutex(Queue())
    private let waiting = DispatchSemaphore(value: 0)

    /// Lines written to `descriptor` by a thread started now, for the process's lifetime.
    public init(descriptor: Int32) {
        self.descriptor = descriptor
        _ = Self.brokenPipesIgnored
        Thread.detachNewThread { [self] in writeForever() }
    }

    public static let standardError = LogOutput(descriptor: STDERR_FILENO)

    /// A reader that went away (a closed pipe, a stopped journal) fails the writer's `write`
    /// and its lines are lost; without this, SIGPIPE would end the whole process.
    private static let brokenPipesIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// The format of the lines that say how many were dropped.
    public func use(_ format: StructuredLogHandler.Format) { queue.withLock { $0.format = format } }

    /// Queues `line`, or counts it dropped when the queue is full.
    func write(_ line: String) {
        let wake = queue.withLock { queue in
            guard queue.lines.count < Self.capacity else {
                queue.dropped += 1
                return false
            }
            queue.lines.append(line)
            return queue.lines.count == 1 && !queue.writing
        }
        if wake { waiting.signal() }
    }

    /// Waits, a second at most, until every line queued so far is written: before the
    /// process exits.
    public func flush() {
        for _ in 0..<100 {
            if isIdle { return }
            usleep(10_000)
        }
    }

    /// Whether every line queued so far is written and the writer waits for more.
    var isIdle: Bool { queue.withLock { $0.lines.isEmpty && $0.dropped == 0 && !$0.writing } }

    /// How long the writer lets lines gather once woken: under load one wake-up and one
    /// `write` then carry many lines instead of one or two each.
    private static let gathering: useconds_t = 2_000

    private func writeForever() {
        while true {
            waiting.wait()
            usleep(Self.gathering)
            while let text = take() { writeWhole(Array(text.utf8)) }
        }
    }

    /// The queued lines (and the notice of dropped ones) as one text; nil, and the writer
    /// marked idle in the same step, when there are none.
    private func take() -> String? {
        queue.withLock { queue in
            guard !queue.lines.isEmpty || queue.dropped > 0 else {
                queue.writing = false
                return nil
            }
            var lines = queue.lines
            if queue.dropped > 0 {
                let fields = [
                    ("time", StructuredLogHandler.now()),
                    ("level", "warning"), ("component", "log"),
                    ("msg", "\(queue.dropped) lines dropped: the log could not keep up"),
                ]
                lines.append(
                    queue.format == .json ? StructuredLogHandler.json(fields) : StructuredLogHandler.logfmt(fields))
            }
            queue.lines.removeAll(keepingCapacity: true)
            queue.dropped = 0
            queue.writing = true
            return lines.joined(separator: "\n") + "\n"
        }
    }

    private func writeWhole(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
