import Dispatch
import Foundation
import Logging
import Synchronization

/// Copies SQLite's WAL into the database file on a connection and a thread of its own, so
/// that the store's committer (``GroupCommit``) does not. SQLite's automatic checkpoint ran
/// inside the commit that took the WAL past 1,000 pages: at 1,000 attestations/s that was
/// some 600 page writes and an `fdatasync` of the database file, about 20 ms every 0.4 s, and
/// every write in line waited for it.
///
/// SQLite starts the WAL over only after a checkpoint copied all of it, which one made beside
/// a writer that keeps appending seldom does. So at ``Thresholds/bound`` frames the writer
/// checkpoints after its commit, as SQLite would have (copying only what the last checkpoint
/// here left), and the WAL stays bounded; a WAL file that a long read let grow past that is
/// cut back to ``walFileLimit`` when it starts over.
///
/// SQLite syncs the database file only at a checkpoint that copied the whole WAL, so the pages
/// copied here would all wait for the writer's checkpoint at the bound, and its sync took up
/// to 49 ms; each checkpoint here syncs the file's pages itself.
final class SQLiteCheckpointer: Sendable {
    /// When checkpoints are made, in WAL frames (one page each).
    struct Thresholds: Sendable {
        /// Frames appended since the last checkpoint here began that begin the next: SQLite's
        /// own automatic checkpoint's threshold.
        var background = 1_000
        /// Frames in the WAL at which the writer checkpoints itself: some 31 MiB of 4 KiB pages.
        var bound = 8_000
    }

    /// The most a WAL file keeps on disk once it starts over (`PRAGMA journal_size_limit`).
    static let walFileLimit = 64 << 20

    private struct Progress {
        var running = false
        /// The frames in the WAL at the last commit: fewer now means it was started over.
        var frames = 0
        /// The frames in the WAL when the last checkpoint here began.
        var began = 0
    }

    private static let logger = Logger(label: "warden.store.sqlite")
    private let connection: SQLiteConnection
    /// The database file, to sync what a checkpoint copied into it.
    private let databaseFile: FileHandle
    private let thresholds: Thresholds
    private let progress = Mutex(Progress())
    private let queue = DispatchQueue(label: "warden.store.checkpoint", qos: .utility)

    private init(connection: SQLiteConnection, databaseFile: FileHandle, thresholds: Thresholds) {
        self.connection = connection
        self.databaseFile = databaseFile
        self.thresholds = thresholds
    }

    /// Makes the checkpoints of the SQLite database at `path`, which `writer` has opened and
    /// put in WAL mode, after `writer`'s commits, on a connection of their own. The writer
    /// keeps the checkpointer for as long as it lives.
    static func watch(_ writer: SQLiteConnection, path: String, thresholds: Thresholds = Thresholds())
        throws(StoreError)
    {
        let connection = try SQLiteConnection(path: path, writable: true)
        var mode = ""
        do {
            try connection.query("PRAGMA journal_mode", []) { row in mode = row.first(String.self) ?? "" }
            _ = try writer.execute("PRAGMA journal_size_limit = \(walFileLimit)", [])
        } catch {
            throw .database("cannot set up the checkpoints of \(path): \(error)")
        }
        guard mode == "wal" else { throw .database("\(path) is in journal mode \(mode), not WAL") }
        guard let databaseFile = FileHandle(forReadingAtPath: path) else {
            throw .database("cannot open \(path) to sync its checkpoints")
        }
        let checkpointer = SQLiteCheckpointer(
            connection: connection, databaseFile: databaseFile, thresholds: thresholds)
        writer.afterEachCommit { frames in checkpointer.committed(walFrames: frames) }
    }

    /// After each of the writer's commits, with the frames now in the WAL: begins a checkpoint
    /// here when enough were appended since the last began and none runs; true when the
    /// writer is to checkpoint itself.
    private func committed(walFrames: Int) -> Bool {
        if walFrames >= thresholds.bound { return true }
        let begin = progress.withLock { progress in
            if walFrames < progress.frames { progress.began = 0 }
            progress.frames = walFrames
            guard !progress.running, walFrames - progress.began >= thresholds.background else { return false }
            (progress.running, progress.began) = (true, walFrames)
            return true
        }
        if begin { queue.async { self.checkpoint() } }
        return false
    }

    private func checkpoint() {
        do {
            try connection.checkpoint()
            try databaseFile.synchronize()
        } catch {
            Self.logger.warning(
                "WAL checkpoint failed; another begins after \(thresholds.background) more pages",
                metadata: ["cause": "\(error)"])
        }
        progress.withLock { $0.running = false }
    }
}
