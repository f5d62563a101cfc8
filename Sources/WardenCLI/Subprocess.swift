import Foundation

/// Runs a helper program and returns its standard output.
enum Subprocess {
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        // The child inherits this thread's signal mask; a blocked SIGALRM or SIGTERM (test
        // runners block some) would stop `openssl speed`'s timer or a daemon's shutdown.
        // SIGCHLD stays as it is: Foundation watches for its children's exit through it.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for signal in [SIGALRM, SIGTERM, SIGINT, SIGHUP] { sigaddset(&wanted, signal) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
