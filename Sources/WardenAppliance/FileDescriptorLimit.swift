import Foundation
import Server

/// The open files `warden serve` may hold. Its bounds on connections and transfers are
/// bounds on descriptors: the usual soft limit of 1,024 is below them, and a flood that
/// exhausts descriptors locks out everyone, operators included.
enum FileDescriptorLimit {
    /// Descriptors beside the listeners' connections and transfers: the database, files
    /// being served, listeners, event loops.
    static let reserve = 256

    /// Raises the soft limit to what `configuration`'s bounds need (at most the hard
    /// limit), and warns when even the hard limit is lower.
    static func raise(toHold configuration: WardenConfiguration) {
        let needed =
            configuration.apiMaxConnections + configuration.bootHTTPMaxConnections + configuration.tftpMaxTransfers
            + reserve
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < rlim_t(needed) {
            limit.rlim_cur = min(limit.rlim_max, rlim_t(needed))
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        if limit.rlim_cur < rlim_t(needed) {
            FileHandle.standardError.write(
                Data(
                    """
                    warden: warning: the open-file limit (\(limit.rlim_cur)) is below the \(needed) descriptors the connection and transfer \
                    bounds need; raise it (LimitNOFILE= in the systemd unit) or lower apiMaxConnections, bootHTTPMaxConnections, tftpMaxTransfers

                    """.utf8))
        }
    }
}
