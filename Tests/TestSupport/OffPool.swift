import Foundation

/// Runs blocking test work (a lab of several minutes, curl against a server in this process)
/// on a thread of its own, never on Swift's cooperative pool: a suite that blocks both of a
/// 2-core machine's cooperative threads starves every server that runs inside the test
/// process, and its clients then wait for ever.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
