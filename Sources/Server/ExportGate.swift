import Synchronization

/// Bounds the audit exports built and sent at once: each reads the whole chain and writes a
/// compressed bundle, and beyond a few they only slow each other down.
final class ExportGate: Sendable {
    let limit: Int
    private let running = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// A place for one export, or nil when all are taken.
    func enter() -> Ticket? {
        let admitted = running.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        return admitted ? Ticket(gate: self) : nil
    }

    /// One export's place, given back once by ``leave()``.
    final class Ticket: Sendable {
        private let gate: ExportGate
        private let left = Atomic(false)

        fileprivate init(gate: ExportGate) { self.gate = gate }

        func leave() {
            guard !left.exchange(true, ordering: .relaxed) else { return }
            gate.running.withLock { $0 -= 1 }
        }
    }
}
