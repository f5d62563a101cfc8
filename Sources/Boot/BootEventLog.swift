/// Where the boot services say what they did, one line per event — a DHCP answer, a TFTP
/// transfer finished, a script or file served — for the operator's log and the lab's
/// timeline. Never a line per packet.
public struct BootEventLog: Sendable {
    private let write: (@Sendable (_ service: String, _ message: String) -> Void)?

    /// Events go to `write`, with the service that saw them.
    public init(_ write: @escaping @Sendable (_ service: String, _ message: String) -> Void) { self.write = write }

    private init() { write = nil }

    /// Says nothing.
    public static let silent = BootEventLog()

    /// Records `message` from `service` (`dhcp`, `tftp`, `http`).
    func record(_ service: String, _ message: @autoclosure () -> String) {
        write?(service, message())
    }
}
