import Foundation

/// Where tests find the package, the shared fixtures and the built `warden` binary.
public enum TestPaths {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/fixtures/eventlogs` beside the checkout, where CI keeps real evidence.
    public static let eventLogFixtures: URL = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/eventlogs")

    /// Whether the shared fixtures are present; tests that read them are skipped otherwise.
    public static var hasEventLogFixtures: Bool {
        FileManager.default.fileExists(atPath: eventLogFixtures.appendingPathComponent("expected-pcrs.json").path)
    }

    /// The built `warden` executable, beside the test bundle.
    public static var wardenBinary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("warden")
    }

    /// The built `warden-agent` executable.
    public static var agentBinary: URL {
        wardenBinary.deletingLastPathComponent().appendingPathComponent("warden-agent")
    }
    /// `warden-bench`, beside `warden`.
    public static var benchBinary: URL {
        wardenBinary.deletingLastPathComponent().appendingPathComponent("warden-bench")
    }

    /// The project's test scripts.
    public static let scripts = packageRoot.appendingPathComponent("Tests/Scripts")

    /// The bytes of a file.
    public static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

    /// A new empty folder under the system's temporary directory, removed when the test process exits.
    public static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("warden-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        TemporaryFolders.register(url)
        return url
    }
}

/// Folders to delete when the test process exits.
enum TemporaryFolders {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var folders: [URL] = []
    nonisolated(unsafe) private static var hooked = false

    static func register(_ url: URL) {
        lock.lock()
        defer { lock.unlock() }
        folders.append(url)
        if !hooked {
            hooked = true
            atexit { TemporaryFolders.removeAll() }
        }
    }

    private static func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        for folder in folders { try? FileManager.default.removeItem(at: folder) }
    }
}
