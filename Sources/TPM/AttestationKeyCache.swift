import Synchronization

/// Attestation keys by the bytes they were read from, each read once: a machine's AK signs
/// every quote it sends, and building its public key is a fifth of a quote's verification.
/// Bounded: when full, it starts again empty.
public final class AttestationKeyCache: Sendable {
    private let keys = Mutex<[[UInt8]: AttestationKey]>([:])
    private let capacity: Int

    public init(capacity: Int = 16_384) {
        self.capacity = capacity
    }

    /// The key `bytes` hold (``AttestationKey/init(file:)``), read now or earlier.
    func key(_ bytes: [UInt8]) throws(AttestationKeyError) -> AttestationKey {
        if let known = keys.withLock({ $0[bytes] }) { return known }
        let key = try AttestationKey(file: bytes)
        keys.withLock { keys in
            if keys.count >= capacity { keys.removeAll() }
            keys[bytes] = key
        }
        return key
    }
}
