import Foundation

/// Pins this whole process to one CPU while it runs, so that a benchmark's client can be
/// measured beside its servers and apart from them in one run.
enum ProcessAffinity {
    /// Moves every thread of this process (new ones inherit it) onto `cpu` alone, with
    /// `taskset --all-tasks`: Swift's Glibc module lacks `sched_setaffinity`.
    static func pin(to cpu: Int) throws {
        _ = try Subprocess.run(
            "/usr/bin/taskset", ["--all-tasks", "--cpu-list", "--pid", String(cpu), String(getpid())])
    }
}
