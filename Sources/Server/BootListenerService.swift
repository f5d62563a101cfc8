import Boot
import ServiceLifecycle
import Synchronization

/// A boot service (ProxyDHCP, TFTP, boot HTTP) in the appliance's `ServiceGroup`. It runs
/// until the group shuts down — then it stops its listener — or until the listener closes
/// by itself, which ends the whole group with ``ListenerClosed``: a listener that died must
/// take the appliance down where systemd or the operator sees it, never let it run on
/// without that service.
public struct BootListenerService: Service {
    /// What it serves and where, for the error that names it.
    public let name: String
    private let listener: any BootListener

    public init(_ name: String, _ listener: any BootListener) {
        self.name = name
        self.listener = listener
    }

    public func run() async throws {
        let stopping = StopRequest()
        let listener = self.listener
        let stop: @Sendable () -> Void = {
            stopping.set()
            listener.closeListeners()
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                _ = try? await listener.listenerClosed.get()
            } onGracefulShutdown: {
                stop()
            }
        } onCancel: {
            stop()
        }
        // Only now, with nothing waiting on its channels, may it release its event loop.
        await listener.stop()
        guard stopping.isSet else { throw ListenerClosed(name: name) }
    }

    /// Whether the group asked the service to stop.
    private final class StopRequest: Sendable {
        private let value = Atomic(false)
        func set() { value.store(true, ordering: .relaxed) }
        var isSet: Bool { value.load(ordering: .relaxed) }
    }
}

/// A boot listener closed while the appliance was running.
public struct ListenerClosed: Error, Sendable, CustomStringConvertible {
    public let name: String
    public var description: String {
        "the \(name) listener closed unexpectedly; Warden stops rather than run without it"
    }
}
