import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness protocol for `Type=notify`: one datagram to the Unix socket
/// `NOTIFY_SOCKET` names (an abstract one when it starts with `@`). Nothing without the
/// variable; a datagram that cannot be sent is dropped, as `sd_notify` does.
struct SystemdNotification {
    private let socketPath: String?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Says the service is ready, with a status line.
    func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    /// Says the service is stopping.
    func stopping() { send("STOPPING=1") }

    private func send(_ message: String) {
        guard let socketPath else { return }
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, 0, socketAddress, length) }
            }
        }
    }
}
