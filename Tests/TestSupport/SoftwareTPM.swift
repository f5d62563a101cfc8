import Foundation

/// A running software TPM (`swtpm socket`) on a loopback port of its own, driven with
/// tpm2-tools. Stopped by its process id when released.
public final class SoftwareTPM: @unchecked Sendable {
    /// A folder for the TPM's state and the tools' files.
    public let folder: URL
    /// The TCTI string for tpm2-tools and libtss2.
    public let tcti: String
    private let process: Process
    /// The control channel's port (`swtpm_ioctl --tcp`).
    private let controlPort: Int

    /// Starts a fresh TPM; retries on a port that turns out to be taken.
    public init() throws {
        folder = try TestPaths.temporaryDirectory("swtpm")
        let state = folder.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        for _ in 0..<20 {
            let port = Int.random(in: 20_000..<32_000)
            let process = try Command.start(
                "swtpm",
                [
                    "socket", "--tpm2", "--tpmstate", "dir=\(state.path)",
                    "--server", "type=tcp,port=\(port),bindaddr=127.0.0.1",
                    "--ctrl", "type=tcp,port=\(port + 1),bindaddr=127.0.0.1",
                    "--flags", "not-need-init,startup-clear",
                ])
            let tcti = "swtpm:host=127.0.0.1,port=\(port)"
            if try Self.waitUntilReady(tcti: tcti, process: process) {
                self.process = process
                self.tcti = tcti
                controlPort = port + 1
                return
            }
            Self.stop(process)
        }
        throw CommandFailure("swtpm did not start on any of 20 ports")
    }

    /// Whether the TPM answers within about two seconds (false when the process died, for
    /// example because the port was taken).
    private static func waitUntilReady(tcti: String, process: Process) throws -> Bool {
        for _ in 0..<40 {
            guard process.isRunning else { return false }
            if try Command.run("tpm2_getcap", ["properties-fixed"], environment: ["TPM2TOOLS_TCTI": tcti]).status == 0 {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    deinit { Self.stop(process) }

    /// Stops the TPM by its process id: SIGTERM, then SIGKILL after a second.
    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        for _ in 0..<50 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs a tpm2-tools command against this TPM in its folder, then flushes transient
    /// objects (swtpm has no resource manager and only three object slots) unless told not
    /// to, for objects another client (a TPMDevice) still uses.
    @discardableResult
    public func run(_ tool: String, _ arguments: [String], flushingTransients: Bool = true) throws -> CommandResult {
        let result = try Command.run(tool, arguments, in: folder, environment: ["TPM2TOOLS_TCTI": tcti])
        if flushingTransients {
            _ = try Command.run("tpm2_flushcontext", ["-t"], in: folder, environment: ["TPM2TOOLS_TCTI": tcti])
        }
        guard result.status == 0 else {
            throw CommandFailure("\(tool) \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result
    }

    /// A file in the TPM's folder.
    public func bytes(_ name: String) throws -> [UInt8] { try TestPaths.bytes(folder.appendingPathComponent(name)) }

    /// Power-cycles the TPM as a reboot does (a TPM Reset: PCRs cleared, the reset count
    /// one higher), then starts it again.
    public func reboot() throws {
        let initialised = try Command.run("swtpm_ioctl", ["--tcp", "127.0.0.1:\(controlPort)", "-i"])
        guard initialised.status == 0 else { throw CommandFailure("swtpm_ioctl -i: \(initialised.stderr)") }
        try run("tpm2_startup", ["-c"], flushingTransients: false)
    }

    /// Writes a file into the TPM's folder.
    public func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: folder.appendingPathComponent(name))
    }
}
