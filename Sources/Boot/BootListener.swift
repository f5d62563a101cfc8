import NIOCore
import Synchronization

/// A boot service that listens for anyone on the boot network. A listener that closes
/// while the service runs — whatever closed it — completes ``listenerClosed``, so that
/// whoever runs the service can end the process loudly instead of lingering without it.
public protocol BootListener: Sendable {
    /// Succeeds when the first of its listening channels has closed, for whatever reason.
    var listenerClosed: EventLoopFuture<Void> { get }
    /// Starts closing its listening channels and returns at once: ``listenerClosed`` follows.
    func closeListeners()
    /// Stops listening and releases what it holds (an event loop of its own, say): call it
    /// once nothing waits on ``listenerClosed`` any more.
    func stop() async
}

/// The first closure among a set of channels.
enum FirstClosure {
    /// A future that succeeds when the first of `channels` has closed.
    static func of(_ channels: [any Channel]) -> EventLoopFuture<Void> {
        precondition(!channels.isEmpty, "a listener has at least one channel")
        let promise = channels[0].eventLoop.makePromise(of: Void.self)
        let completed = Once()
        for channel in channels {
            channel.closeFuture.whenComplete { _ in if completed.claim() { promise.succeed() } }
        }
        return promise.futureResult
    }

    /// True for the first caller of ``claim()`` only.
    private final class Once: Sendable {
        private let claimed = Atomic(false)
        func claim() -> Bool { claimed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged }
    }
}
