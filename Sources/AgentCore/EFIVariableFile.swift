#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import CFileFlags
import Octets

/// One EFI variable as efivarfs shows it: a file named `NAME-GUID` whose contents are the
/// variable's attributes (four bytes, little-endian) and then its data. efivarfs renames
/// nothing and makes most variables immutable, so a write clears that attribute and writes
/// the whole of it in place, in one `write`.
public struct EFIVariableFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Variable `name` of `vendor` in the efivarfs folder `folder`.
    public init(folder: String, name: String, vendor: EFIGUID) {
        path = "\(folder)/\(name)-\(vendor)"
    }

    /// The variable's data, without its attributes; nil when it does not exist or is
    /// shorter than its attributes.
    public func data() -> [UInt8]? {
        guard let contents = FileManager.default.contents(atPath: path), contents.count >= 4 else { return nil }
        return Array(contents.dropFirst(4))
    }

    /// Writes `attributes` and `data` as one write, which the firmware takes or refuses whole.
    public func write(attributes: UInt32, data: [UInt8]) throws(AgentError) {
        if FileManager.default.fileExists(atPath: path) {
            let existing = open(path, O_RDONLY)
            let cleared = existing >= 0 && warden_clear_immutable(existing) == 0
            let reason = String(cString: strerror(errno))
            if existing >= 0 { close(existing) }
            guard cleared else { throw .output("cannot make \(path) writable: \(reason)") }
        }
        let bytes = LittleEndian.bytes(attributes) + data
        let descriptor = open(path, O_WRONLY | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw .output("cannot write \(path): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let failure = written == bytes.count ? nil : String(cString: strerror(errno))
        close(descriptor)
        if let failure { throw .output("the firmware did not take \(path): \(failure)") }
    }
}
