import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Why `warden serve` cannot start, in one line that says what to do.
struct ServeFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    /// `error` from opening `listener` (`boot HTTP`, say) on `host`:`port`, whose port is the
    /// setting `setting` (`WARDEN_…` in the environment).
    static func listening(_ error: any Error, listener: String, host: String, ports: String, setting: String)
        -> ServeFailure
    {
        let place = "\(listener) on \(host):\(ports)"
        switch (error as? IOError)?.errnoCode {
        case EADDRINUSE:
            return ServeFailure(
                "port \(ports) (\(listener)) on \(host) is in use by another process: stop it, or set \(setting) to a free port"
            )
        case EACCES:
            return ServeFailure(
                "\(place): ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd unit grants it), or set \(setting) to a port above 1023"
            )
        case EADDRNOTAVAIL:
            return ServeFailure("\(place): \(host) is not an address of this machine: set the listener's host")
        default:
            return ServeFailure("\(place) cannot listen: \(error)")
        }
    }
}
