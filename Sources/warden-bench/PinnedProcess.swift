import Foundation

/// Servers a benchmark compares, started pinned to one CPU with `taskset` and stopped by
/// process id, on loopback ports the kernel has just handed out.
enum PinnedProcess {
    /// Starts `executable` on CPU `cpu` with `environment` added, its output in `log`.
    static func start(
        cpu: Int, _ executable: String, _ arguments: [String], environment: [String: String] = [:], log: String,
        hint: String
    ) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(executable) is missing (\(hint))")
        }
        return try Subprocess.start(
            "/usr/bin/taskset", ["-c", String(cpu), executable] + arguments, environment: environment,
            log: URL(fileURLWithPath: log))
    }

    /// Stops `process` (SIGTERM) and waits for it.
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// The environment of a `warden serve` a benchmark starts: the API on `apiPort`, every
    /// boot service off its fixed port (0: a free one), no firmware manifest; then `overrides`.
    /// A benchmark plays hundreds of machines from 127.0.0.1: the per-source bounds, which
    /// keep one attacker from holding every place, are lifted to the totals.
    static let oneSourcePlaysMany = [
        "WARDEN_API_MAX_CONNECTIONS": "4096", "WARDEN_API_MAX_CONNECTIONS_PER_SOURCE": "4096",
        "WARDEN_API_HANDSHAKES_PER_SECOND_PER_SOURCE": "1000000",
        "WARDEN_BOOT_HTTP_MAX_CONNECTIONS": "4096", "WARDEN_BOOT_HTTP_MAX_CONNECTIONS_PER_SOURCE": "4096",
        "WARDEN_TFTP_MAX_TRANSFERS_PER_SOURCE": "1024", "WARDEN_MAX_BODY_BYTES_IN_FLIGHT": String(1 << 30),
        "WARDEN_DISCOVERIES_PER_MINUTE_PER_SOURCE": "1000000", "WARDEN_DISCOVERIES_PER_MINUTE": "1000000",
    ]

    static func serveEnvironment(apiPort: Int, _ overrides: [String: String] = [:]) -> [String: String] {
        [
            "WARDEN_API_PORT": String(apiPort), "WARDEN_BOOT_HTTP_PORT": "0", "WARDEN_TFTP_PORT": "0",
            "WARDEN_PROXYDHCP_PORT": "0",
            "WARDEN_PROXYDHCP_ALT_PORT": "0",
        ].merging(oneSourcePlaysMany) { $1 }.merging(overrides) { $1 }
    }

    /// The `warden` binary beside this `warden-bench`: the build that is measured.
    static var warden: String {
        get throws {
            URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                .deletingLastPathComponent().appendingPathComponent("warden").path
        }
    }

    /// A port the kernel has just given out on 127.0.0.1 and taken back.
    static func freePort(_ type: __socket_type) throws -> Int {
        let descriptor = socket(AF_INET, Int32(type.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw BenchError("no free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// CPU seconds (user + system) that process `pid` and its direct children have used.
    static func cpuSeconds(of pid: Int32) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        for candidate in processes {
            // Fields after the command name (which may hold spaces): state ppid … utime stime.
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, candidate == pid || Int32(fields[1]) == pid else { continue }
            total += ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / ticks
        }
        return total
    }
}
