#if canImport(Glibc)
import Glibc
#endif
import WardenAPI

/// The kernel command line the node booted with, as far as the agent reads it.
public enum KernelCommandLine {
    /// The most read of it: a command line is a few kilobytes at most.
    static let maxSize = 64 * 1024

    /// Whether the command line in `path` (normally `/proc/cmdline`) carries Warden's legacy
    /// BIOS parameter; an absent or unreadable file says nothing.
    public static func saysLegacyBIOS(at path: String) -> Bool {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: maxSize)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        let words = bytes[..<count].split(whereSeparator: { $0 == 0x20 || $0 == 0x0a || $0 == 0x09 || $0 == 0 })
        return words.contains { $0.elementsEqual(AgentMessages.legacyBIOSBootParameter.utf8) }
    }
}
