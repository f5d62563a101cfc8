import Foundation

/// The outcome of running a program.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs programs for tests: real tools (tpm2-tools, tar, cpio) and the `warden` binary.
public enum Command {
    /// Runs `executable` (a path, or a name looked up in PATH) and waits for it.
    public static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> CommandResult {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        // The child inherits this thread's signal mask; a blocked SIGALRM or SIGTERM (test
        // runners block some) would stop `openssl speed`'s timer or a daemon's shutdown.
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        try process.run()
        // Read both pipes at once so neither can fill up and block the child.
        let errorOutput = ErrorOutput()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errorOutput.data = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let errData = errorOutput.data
        return CommandResult(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }

    /// Whether a program is on PATH.
    public static func exists(_ name: String) -> Bool {
        (try? run("sh", ["-c", "command -v \(name)"]).status) == 0
    }
}

/// Standard error collected on another thread; read only after that thread finished.
private final class ErrorOutput: @unchecked Sendable {
    var data = Data()
}
