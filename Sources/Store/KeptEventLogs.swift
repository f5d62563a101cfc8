import Synchronization

/// The SHA-256 digests of event logs this store saw committed, so that an attestation whose
/// log is kept already (a machine's firmware writes the same log boot after boot) does not
/// send it again: on PostgreSQL that insert was one more round trip in the writer every
/// appliance waits for. Event logs are never deleted; a digest is remembered only after the
/// write that kept it committed, and all are forgotten when a write fails (a fail-over to a
/// standby that lacks the last commits, say), so the next one sends its log again.
final class KeptEventLogs: Sendable {
    /// At most this many digests are remembered (the oldest goes first).
    static let capacity = 4_096

    private struct Memory {
        var digests: Set<[UInt8]> = []
        var order: [[UInt8]] = []
    }

    private let memory = Mutex(Memory())

    /// Whether `digest`'s log is known to be kept.
    func contains(_ digest: [UInt8]) -> Bool { memory.withLock { $0.digests.contains(digest) } }

    /// Remembers that `digest`'s log is kept (its write committed).
    func remember(_ digest: [UInt8]) {
        memory.withLock { memory in
            guard memory.digests.insert(digest).inserted else { return }
            memory.order.append(digest)
            if memory.order.count > Self.capacity {
                memory.digests.remove(memory.order.removeFirst())
            }
        }
    }

    /// Forgets every digest.
    func forget() { memory.withLock { $0 = Memory() } }
}
