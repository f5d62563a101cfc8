import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive hold on a state folder (`STATE-DIR/lock`, `flock`), so that two processes
/// never serve from one folder. The file names the holder; the kernel drops the hold when
/// the process ends, however it ends.
public final class StateFolderLock: Sendable {
    /// Why the folder could not be held.
    public enum Failure: Error, CustomStringConvertible {
        /// Another process holds it; `holder` is what that process wrote.
        case held(path: String, holder: String)
        case unusable(path: String, reason: String)

        public var description: String {
            switch self {
            case .held(let path, let holder):
                "\(path) is held by \(holder.isEmpty ? "another process" : holder): one state folder serves one appliance; stop that one first or give this one another --state-dir"
            case .unusable(let path, let reason):
                "cannot lock \(path): \(reason)"
            }
        }
    }

    private let descriptor: Int32

    /// Holds `folder` (created when missing) for `holder` (what the process is, `warden
    /// serve`, say) until this value is released.
    public init(folder: String, holder: String, now: Date = Date()) throws(Failure) {
        let path = folder + "/lock"
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unusable(path: path, reason: "its folder cannot be made: \(error.localizedDescription)")
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .unusable(path: path, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = Self.contents(of: descriptor)
            close(descriptor)
            if code == EWOULDBLOCK { throw .held(path: path, holder: holder) }
            throw .unusable(path: path, reason: String(cString: strerror(code)))
        }
        let description =
            "\(holder) (pid \(getpid()) on \(ProcessInfo.processInfo.hostName), since \(now.formatted(.iso8601)))\n"
        _ = ftruncate(descriptor, 0)
        _ = description.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    private static func contents(of descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return "" }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
