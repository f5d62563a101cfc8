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
    public static func run(
        _ executable: String, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
    ) throws -> CommandResult {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
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
        try launch(process)
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

    /// Starts a long-running program with no input or output and returns at once. Such a
    /// program must be started here, not from a shell: Foundation learns that a child
    /// exited when a socket the child inherited closes, and a grandchild left running
    /// would keep it open.
    /// `log`, when given, receives standard output and error.
    public static func start(
        _ executable: String, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
        log: URL? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = FileHandle.nullDevice
        if let log {
            // A log that could not be made fails FileHandle's opening of it, just below.
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        try launch(process)
        return process
    }

    /// The child inherits this thread's signal mask; a blocked SIGALRM or SIGTERM (test
    /// runners block some) would stop `openssl speed`'s timer or a daemon's shutdown.
    /// SIGCHLD stays as it is.
    private static func launch(_ process: Process) throws {
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for signal in [SIGALRM, SIGTERM, SIGINT, SIGHUP] { sigaddset(&wanted, signal) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        try process.run()
    }
}

/// Standard error collected on another thread; read only after that thread finished.
private final class ErrorOutput: @unchecked Sendable {
    var data = Data()
}

/// A program a test drove failed, or did not come up.
public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
