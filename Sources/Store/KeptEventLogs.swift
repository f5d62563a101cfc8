import Synchronization

/// The SHA-256 digests of event logs this store saw committed, so that an attestation whose
/// log is kept already (a machine's firmware writes the same log boot after boot) does not
/// send it again: on PostgreSQL that insert was one more round trip in the writer every
/// appliance waits for. Event logs are never deleted. A digest is remembered only after the
/// write that kept it committed, in the database's generation (``StoreDatabase/generation``)
/// that write began in; all are forgotten in a new generation (a fail-over to a standby that
/// may lack the last commits) and when a write fails in the database, so the next one
/// sends its log again.
final class KeptEventLogs: Sendable {
    /// At most this many digests are remembered (the oldest goes first).
    static let capacity = 4_096

    private struct Memory {
        var generation = 0
        var digests: Set<[UInt8]> = []
        var order: [[UInt8]] = []
    }

    private let memory = Mutex(Memory())

    /// Whether `digest`'s log is known to be kept in the database's `generation`.
    func contains(_ digest: [UInt8], generation: Int) -> Bool {
        memory.withLock { memory in
            guard memory.generation == generation else {
                memory = Memory(generation: generation)
                return false
            }
            return memory.digests.contains(digest)
        }
    }

    /// Remembers that `digest`'s log is kept: its write, begun in `generation`, committed
    /// while the database is in generation `now` (nothing is remembered across a fail-over).
    func remember(_ digest: [UInt8], keptIn generation: Int, now: Int) {
        memory.withLock { memory in
            guard generation == now, memory.generation == now else { return }
            guard memory.digests.insert(digest).inserted else { return }
            memory.order.append(digest)
            if memory.order.count > Self.capacity {
                memory.digests.remove(memory.order.removeFirst())
            }
        }
    }

    /// Forgets every digest.
    func forget() { memory.withLock { $0 = Memory(generation: $0.generation) } }
}
