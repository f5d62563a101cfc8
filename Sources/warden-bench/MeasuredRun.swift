import Foundation

/// Runs a program to completion and measures it: wall time and CPU time from `wait4`'s
/// resource usage of that one child, and peak resident memory from its `VmHWM`, sampled
/// every 10 ms (`ru_maxrss` would count this parent's memory: `posix_spawn` runs the child
/// in the parent's address space until it executes the program).
struct MeasuredRun: Codable, Sendable {
    let status: Int32
    let seconds: Double
    let cpuSeconds: Double
    let maxResidentMiB: Double

    static func run(_ executable: String, _ arguments: [String]) throws -> MeasuredRun {
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let start = ContinuousClock.now
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard spawned == 0 else {
            throw BenchError("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        var usage = rusage()
        var peakKiB = 0
        while true {
            let waited = wait4(pid, &status, WNOHANG, &usage)
            if waited == pid { break }
            guard waited == 0 || errno == EINTR else {
                throw BenchError("cannot wait for \(executable): \(String(cString: strerror(errno)))")
            }
            peakKiB = max(peakKiB, highWaterMarkKiB(of: pid))
            usleep(10_000)
        }
        let seconds = (ContinuousClock.now - start).microseconds / 1e6
        func time(_ value: timeval) -> Double { Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return MeasuredRun(
            status: exitStatus, seconds: seconds, cpuSeconds: time(usage.ru_utime) + time(usage.ru_stime),
            maxResidentMiB: Double(peakKiB) / 1024)
    }

    /// The peak resident set of a running process, from `/proc/PID/status`.
    private static func highWaterMarkKiB(of pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
}
