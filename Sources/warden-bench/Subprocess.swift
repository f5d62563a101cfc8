import Foundation

/// Runs helper programs: `openssl speed`, and the server a benchmark measures.
enum Subprocess {
    /// Runs a program to completion, with `environment` added, and returns its standard output.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try launch(process)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError(
                "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Starts a long-running program with `environment` added, its output going to `log`.
    static func start(_ executable: String, _ arguments: [String], environment: [String: String], log: URL) throws
        -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw BenchError("cannot create \(log.path)")
        }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try launch(process)
        return process
    }

    /// The child inherits this thread's signal mask; a blocked SIGALRM or SIGTERM (test
    /// runners block some) would stop `openssl speed`'s timer or a daemon's shutdown.
    /// SIGCHLD stays as it is: Foundation watches for its children's exit through it.
    private static func launch(_ process: Process) throws {
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for signal in [SIGALRM, SIGTERM, SIGINT, SIGHUP] { sigaddset(&wanted, signal) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        try process.run()
    }
}
