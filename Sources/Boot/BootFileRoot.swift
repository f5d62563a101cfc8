import Foundation
import Synchronization

/// The folder the boot services serve from, and one cached copy of each file in it.
/// Names are judged before the file system is touched: only letters, digits, `.`, `_`,
/// `-` and `/` between non-empty components that are not `.` or `..` — so `..`, absolute
/// paths, `%2e%2e`, backslashes and NUL never reach it — and a name whose real path
/// (symbolic links resolved) leaves the root is refused as well.
public final class BootFileRoot: BootFileSource {
    /// Files larger than this are not served from memory.
    public static let maxFileSize = 256 << 20

    public let path: String
    private let realRoot: String
    private let cache = Mutex<[String: [UInt8]]>([:])

    /// Why a name is not served.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// The name is not one a client may ask for, or leads out of the root.
        case forbidden(String)
        case notFound(String)
        /// The file on disk no longer matches what was recorded of it.
        case corrupt(String)
        /// The file is being checked for another request; ask again shortly.
        case busy(String)

        public var description: String {
            switch self {
            case .forbidden(let name): "access to \(name) is not allowed"
            case .notFound(let name): "\(name) not found"
            case .corrupt(let name): "\(name) does not match its recorded digest; it is not served"
            case .busy(let name): "\(name) is being checked; retry shortly"
            }
        }
    }

    public init(path: String) throws {
        self.path = path
        guard let real = realpath(path, nil) else { throw Refusal.notFound(path) }
        realRoot = String(cString: real)
        free(real)
    }

    /// A file found under the root, not read.
    public struct ServedFile: Sendable, Equatable {
        /// Its real path (symbolic links resolved), inside the root.
        public let path: String
        public let size: Int
        /// A strong validator that changes whenever the file does: inode, size and
        /// modification time, as nginx makes it.
        public let entityTag: String
        /// When the file's inode last changed (nanoseconds): unlike the modification time,
        /// nothing can set it back.
        public let statusChanged: Int
        /// Where the served bytes start in the file: 0, or a part's offset (see ``part(_:offset:size:)``).
        public var offset = 0

        /// `size` bytes of this file from `offset`, served as a file of their own, with a
        /// validator of their own (the file's, marked with `label`).
        public func part(_ label: String, offset: Int, size: Int) -> ServedFile {
            var part = ServedFile(
                path: path, size: size, entityTag: String(entityTag.dropLast()) + "-\(label)\"",
                statusChanged: statusChanged)
            part.offset = self.offset + offset
            return part
        }
    }

    /// Finds `name` under the root without reading it.
    public func resolve(_ name: String) throws(Refusal) -> ServedFile {
        guard Self.isAcceptable(name) else { throw .forbidden(name) }
        guard let real = realpath(path + "/" + name, nil) else { throw .notFound(name) }
        let resolved = String(cString: real)
        free(real)
        guard resolved.hasPrefix(realRoot + "/") else { throw .forbidden(name) }
        var status = stat()
        guard stat(resolved, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { throw .notFound(name) }
        let modified = Int(status.st_mtim.tv_sec) * 1_000_000_000 + Int(status.st_mtim.tv_nsec)
        let tag =
            "\""
            + [Int(status.st_ino), Int(status.st_size), modified].map { String($0, radix: 16) }.joined(separator: "-")
            + "\""
        return ServedFile(
            path: resolved, size: Int(status.st_size), entityTag: tag,
            statusChanged: Int(status.st_ctim.tv_sec) * 1_000_000_000 + Int(status.st_ctim.tv_nsec))
    }

    /// The contents of `name` when they were read before: no file system call at all.
    public func cachedFile(_ name: String) -> [UInt8]? {
        cache.withLock { $0[name] }
    }

    /// The contents of `name`, read once and kept.
    public func file(_ name: String) throws(Refusal) -> [UInt8] {
        if let cached = cachedFile(name) { return cached }
        let found = try resolve(name)
        guard found.size <= Self.maxFileSize, let contents = FileManager.default.contents(atPath: found.path) else {
            throw .notFound(name)
        }
        let bytes = [UInt8](contents)
        cache.withLock { $0[name] = bytes }
        return bytes
    }

    /// Whether `name` has only the characters and components a served file may have.
    public static func isAcceptable(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255,
            name.utf8.allSatisfy({
                $0.isASCIILetterOrDigit || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                    || $0 == UInt8(ascii: "/")
            })
        else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }
}

private extension UInt8 {
    var isASCIILetterOrDigit: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

/// Where the boot HTTP server finds files: a ``BootFileRoot``, or a store that also checks
/// each file against its recorded digest before it is served.
public protocol BootFileSource: Sendable {
    /// The file `name`, found and checked, not read.
    func resolve(_ name: String) throws(BootFileRoot.Refusal) -> BootFileRoot.ServedFile
}
