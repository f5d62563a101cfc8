import Foundation
import Synchronization
import WardenClient

/// One line of progress on standard error, rewritten in place: what moved, how fast, and
/// how long is left when the total is known. Only on a terminal, and never under
/// `--format json|yaml`: pipes and programs get nothing but the result.
package final class TerminalProgress: Sendable {
    private struct State {
        var lastShown = ContinuousClock.now - .seconds(1)
        var moved = false
        var ended = false
    }

    /// What is counted.
    package enum Unit: Sendable {
        case bytes, records
    }

    private let label: String
    private let unit: Unit
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    private init(label: String, unit: Unit) {
        self.label = label
        self.unit = unit
    }

    /// A progress line for `label` (`uploading`, say), counting `unit`, when standard error
    /// is a terminal and `format` is text; nil otherwise.
    package static func start(_ label: String, counting unit: Unit = .bytes, format: OutputFormat) -> TerminalProgress?
    {
        guard format == .text, isatty(STDERR_FILENO) == 1 else { return nil }
        return TerminalProgress(label: label, unit: unit)
    }

    /// Says how long the other side has been working, every second, until bytes move.
    package func waiting(for what: String) {
        Task { [weak self] in
            while let self, !self.state.withLock({ $0.moved || $0.ended }) {
                self.show("\(what), \(Int(self.elapsed))s")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// `done` of `total` (when known) so far; at most ten lines a second.
    package func update(done: Int, total: Int?) {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            state.moved = true
            guard now - state.lastShown >= .milliseconds(100) || done == total else { return false }
            state.lastShown = now
            return true
        }
        guard due else { return }
        let rate = Double(done) / max(elapsed, 0.001)
        var text = amount(done) + (total.map { " of " + amount($0) } ?? "") + ", \(amount(Int(rate)))/s"
        if let total, rate > 0, done < total { text += ", \(Int((Double(total - done) / rate).rounded(.up)))s left" }
        show(text)
    }

    /// ``update(done:total:)`` as a transfer's progress.
    package var transfer: TransferProgress { { [self] done, total in update(done: done, total: total) } }

    /// ``update(done:total:)`` as an export's count of records.
    package var records: @Sendable (Int64, Int64) -> Void {
        { [self] done, total in update(done: Int(done), total: Int(total)) }
    }

    /// A stage with no bytes to count (`building the image`).
    package func stage(_ text: String) { show(text) }

    /// Ends the line.
    package func end() {
        state.withLock { $0.ended = true }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private var elapsed: Double {
        let duration = started.duration(to: .now)
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func show(_ text: String) {
        FileHandle.standardError.write(Data("\r\u{1B}[K\(label): \(text)".utf8))
    }

    private func amount(_ count: Int) -> String {
        switch unit {
        case .records: "\(count) records"
        case .bytes:
            count < 1 << 20 ? "\(count >> 10) KiB" : String(format: "%.1f MiB", Double(count) / Double(1 << 20))
        }
    }
}
