import Synchronization

/// Values made once from their key and kept, for things that never change once made (a
/// machine's parsed AK or EK, a policy version): building them again on every request is
/// most of their cost. Bounded: when full, it starts again empty.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let values = Mutex<[Key: Value]>([:])
    private let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// The value kept for `key`, or the one `make` returns now, kept for next time.
    public func value<Failure: Error>(for key: Key, making make: () throws(Failure) -> Value) throws(Failure) -> Value {
        if let known = values.withLock({ $0[key] }) { return known }
        let value = try make()
        values.withLock { values in
            if values.count >= capacity { values.removeAll() }
            values[key] = value
        }
        return value
    }
}
