import Boot
import Foundation

/// The three TFTP servers a benchmark compares, each started pinned to CPU 0 on its own
/// loopback port and stopped by process id: `warden serve` of this binary (its TFTP root
/// filled from a one-file firmware manifest), tftpd-hpa and atftpd.
struct TFTPPeerServers {
    struct Server {
        let name: String
        let port: Int
        let process: Process
    }

    private(set) var all: [Server] = []

    init(work: String, root: String, wardenFirmware: String, tftpdHpa: String, atftpd: String) throws {
        let wardenPort = try PinnedProcess.freePort(SOCK_DGRAM)
        all.append(
            Server(
                name: "warden", port: wardenPort,
                process: try Self.pinned(
                    try PinnedProcess.warden, ["serve", "--state-dir", work + "/state"],
                    environment: PinnedProcess.serveEnvironment(
                        apiPort: try PinnedProcess.freePort(SOCK_STREAM),
                        ["WARDEN_TFTP_PORT": String(wardenPort), "WARDEN_FIRMWARE": wardenFirmware]),
                    log: work + "/warden.log")))
        let hpaPort = try PinnedProcess.freePort(SOCK_DGRAM)
        all.append(
            Server(
                name: "tftpd-hpa", port: hpaPort,
                process: try Self.pinned(
                    tftpdHpa, ["--foreground", "--address", "127.0.0.1:\(hpaPort)", "--secure", root], environment: [:],
                    log: work + "/tftpd-hpa.log")))
        let atftpPort = try PinnedProcess.freePort(SOCK_DGRAM)
        all.append(
            Server(
                name: "atftpd", port: atftpPort,
                process: try Self.pinned(
                    atftpd,
                    [
                        "--daemon", "--no-fork", "--port", String(atftpPort), "--bind-address", "127.0.0.1",
                        "--maxthread", "1000", "--logfile", "/dev/null", root,
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
        for server in all { PinnedProcess.stop(server.process) }
        all = []
    }

    private static func pinned(_ executable: String, _ arguments: [String], environment: [String: String], log: String)
        throws -> Process
    {
        try PinnedProcess.start(
            cpu: 0, executable, arguments, environment: environment, log: log,
            hint: "make bench-tftp installs the peers")
    }
}
