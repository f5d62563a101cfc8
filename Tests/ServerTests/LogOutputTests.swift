import Foundation
import Testing

@testable import Server

/// The log on a hostile network: whoever logs only queues; when the reader cannot keep up,
/// lines are dropped and counted, never waited for.
@Suite struct LogOutputTests {
    @Test func aFloodIsDroppedAndCountedNeverWaitedFor() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let output = LogOutput(descriptor: ends[1])
        defer { closeWhenWritten(ends, by: output) }
        // Nobody reads yet: the pipe fills (64 KiB), then the queue; the rest is dropped.
        let lines = LogOutput.capacity * 3
        for index in 0..<lines { output.write("time=t level=info component=test msg=\"line \(index)\"") }

        var text = ""
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(30)
        while !text.contains("lines dropped"), Date() < deadline {
            let count = read(ends[0], &buffer, buffer.count)
            guard count > 0 else { break }
            text += String(decoding: buffer[..<count], as: UTF8.self)
        }
        let notice = try #require(text.split(separator: "\n").first { $0.contains("lines dropped") })
        #expect(notice.contains("level=warning component=log"), "\(notice)")
        let dropped = Int(notice.split(separator: "\"").dropFirst().first?.split(separator: " ").first ?? "") ?? 0
        #expect(dropped > 0 && dropped < lines, "\(notice)")
        // Each line written whole, in order. The last read may end inside a line of the batch
        // the writer took after the notice: only lines read to their end count.
        let complete = text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
        let written = complete.split(separator: "\n").filter { $0.hasPrefix("time=t") }
        #expect(written.first == "time=t level=info component=test msg=\"line 0\"")
        #expect(written.allSatisfy { $0.hasSuffix("\"") })
    }

    /// A reader that went away (a journal stopped, a pipe closed) loses the lines; the writer
    /// goes on, and the process with it: SIGPIPE would have ended both.
    @Test func aReaderGoneAwayLosesLinesNotTheProcess() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[1]) }
        close(ends[0])
        let output = LogOutput(descriptor: ends[1])
        for index in 0..<100 { output.write("time=t level=info component=test msg=\"line \(index)\"") }
        output.flush()
        #expect(output.isIdle)
        // Still writing: a line queued now is taken and dropped like the others.
        output.write("time=t level=info component=test msg=\"after\"")
        output.flush()
        #expect(output.isIdle)
    }

    /// Reads what the writer still writes until it is idle, then closes both ends: closing
    /// the reading end under a writer would fail its writes (once, SIGPIPE ended the runner).
    private func closeWhenWritten(_ ends: [Int32], by output: LogOutput) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if read(ends[0], &buffer, buffer.count) > 0 { continue }
            if output.isIdle { break }
            usleep(5_000)
        }
        close(ends[0])
        close(ends[1])
    }
}
