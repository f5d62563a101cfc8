import Archive
import Foundation
import WardenCrypto

/// Writes a bundle's files into its tar.gz as they come, keeping each file's SHA-256 for
/// the manifest, which it writes and signs last.
struct BundleWriter: ~Copyable {
    private var archive: ArchiveWriter
    private var manifest = ""
    private let modified: Int

    init(path: String, modified: Date) throws(ArchiveError) {
        archive = try ArchiveWriter(path: path, format: .tarGzip)
        self.modified = Int(modified.timeIntervalSince1970)
    }

    /// Adds a file held in memory.
    mutating func add(_ path: String, _ contents: [UInt8]) throws(ArchiveError) {
        try archive.addFile(path, contents: contents, mode: 0o644, modified: modified)
        list(path, DigestAlgorithm.sha256.hash(contents))
    }

    /// Adds a file held in memory.
    mutating func add(_ path: String, _ text: String) throws(ArchiveError) { try add(path, Array(text.utf8)) }

    /// Adds a finished spool file, streaming it.
    mutating func add(_ path: String, _ spool: SpoolFile) throws {
        let digest = try spool.finish()
        try archive.addFile(path, size: spool.size, mode: 0o644, modified: modified) { try spool.nextChunk() }
        list(path, digest)
    }

    /// Writes the manifest and its signature with `key`, and closes the archive.
    mutating func finish(signingWith key: AuditKey) throws {
        let manifestBytes = Array(manifest.utf8)
        try archive.addFile(BundleLayout.manifest, contents: manifestBytes, mode: 0o644, modified: modified)
        try archive.addFile(
            BundleLayout.manifestSignature, contents: try key.sign(manifestBytes), mode: 0o644, modified: modified)
        try archive.finish()
    }

    private mutating func list(_ path: String, _ digest: [UInt8]) {
        manifest += Hex.encode(digest) + "  " + path + "\n"
    }
}
