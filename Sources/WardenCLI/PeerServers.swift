import Boot
import Foundation

/// The three TFTP servers a benchmark compares, each started pinned to CPU 0 on its own
/// loopback port and stopped by process id: `warden serve` of this binary (its TFTP root
/// filled from a one-file firmware manifest), tftpd-hpa and atftpd.
struct PeerServers {
    struct Server {
        let name: String
        let port: Int
        let process: Process
    }

    private(set) var all: [Server] = []

    init(work: String, root: String, wardenFirmware: String, tftpdHpa: String, atftpd: String) throws {
        let warden = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let wardenPort = try Self.freePort(SOCK_DGRAM)
        all.append(Server(name: "warden", port: wardenPort, process: try Self.pinned(warden, ["serve", "--state-dir", work + "/state"], environment: [
            "WARDEN_API_PORT": String(try Self.freePort(SOCK_STREAM)), "WARDEN_TFTP_PORT": String(wardenPort), "WARDEN_BOOT_HTTP_PORT": "0", "WARDEN_PROXYDHCP_PORT": "0",
            "WARDEN_PROXYDHCP_ALT_PORT": "0", "WARDEN_FIRMWARE": wardenFirmware,
        ], log: work + "/warden.log")))
        let hpaPort = try Self.freePort(SOCK_DGRAM)
        all.append(Server(name: "tftpd-hpa", port: hpaPort, process: try Self.pinned(
            tftpdHpa, ["--foreground", "--address", "127.0.0.1:\(hpaPort)", "--secure", root], environment: [:], log: work + "/tftpd-hpa.log")))
        let atftpPort = try Self.freePort(SOCK_DGRAM)
        all.append(Server(name: "atftpd", port: atftpPort, process: try Self.pinned(atftpd, [
            "--daemon", "--no-fork", "--port", String(atftpPort), "--bind-address", "127.0.0.1", "--maxthread", "1000", "--logfile", "/dev/null", root,
        ], environment: [:], log: work + "/atftpd.log")))
    }

    /// Waits until every server serves `bench.bin` as `bytes`.
    func waitUntilServing(bytes: [UInt8]) throws {
        for server in all {
            var served = false
            for _ in 0..<40 where !served {
                served = (try? TFTPClient(port: server.port, timeoutSeconds: 1).fetch("bench.bin"))?.bytes == bytes
                if !served { usleep(250_000) }
            }
            guard served else { throw BenchError("\(server.name) does not serve the file on port \(server.port)") }
        }
    }

    /// Stops every server it started, by process id.
    mutating func stop() {
        for server in all where server.process.isRunning {
            server.process.terminate()
            server.process.waitUntilExit()
        }
        all = []
    }

    private static func pinned(_ executable: String, _ arguments: [String], environment: [String: String], log: String) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(executable) is missing (make bench-tftp installs the peers)")
        }
        return try Subprocess.start("/usr/bin/taskset", ["-c", "0", executable] + arguments, environment: environment, log: URL(fileURLWithPath: log))
    }

    /// A port the kernel has just given out on 127.0.0.1 and taken back.
    private static func freePort(_ type: __socket_type) throws -> Int {
        let descriptor = socket(AF_INET, Int32(type.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("no free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
