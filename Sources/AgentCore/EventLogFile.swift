#if canImport(Glibc)
import Glibc
#endif

/// Reads the firmware event log, which securityfs reports with size 0: read until EOF,
/// at most the size Warden accepts.
public enum EventLogFile {
    public static let maxSize = 1 << 20

    public static func read(_ path: String) throws(AgentError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .output("cannot open the event log \(path)") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw .output("cannot read the event log \(path)") }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            guard bytes.count <= maxSize else { throw .output("the event log \(path) is larger than \(maxSize) bytes") }
        }
    }
}
