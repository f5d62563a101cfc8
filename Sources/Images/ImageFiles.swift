import Boot
import Foundation
import ImageBuilding
import Synchronization
import WardenCrypto

/// The folder of served images: each file named by its own SHA-256 (`<hex>.efi`), beside it
/// its detached signature (`<hex>.efi.sig`). A file is checked against the digest its name
/// records before it is first served, and again whenever it changes on disk (inode, size,
/// modification or status-change time): a changed file is refused, not served.
///
/// For legacy BIOS machines, which cannot start a UKI, `<hex>.linux` and `<hex>.initrd`
/// serve the kernel and initrd sections of the checked file `<hex>.efi` (signed beside it
/// as `<hex>.linux.sig` and `<hex>.initrd.sig`): no second copy to store or to keep in step.
///
/// The folder is a cache: a file of this family that is missing is fetched first (from the
/// database the appliances share, see ``ImageCatalogue``), then checked like any other.
public final class ImageFiles: BootFileSource {
    /// Puts the image whose SHA-256 is `sha256` (lowercase hex) and its signatures into the
    /// folder, or throws why it cannot.
    public typealias Fetch = @Sendable (_ sha256: String) throws -> Void

    public let path: String
    private let root: BootFileRoot
    private let fetch: Fetch?

    /// A file as it was found when its digest last matched, with its PE headers as read
    /// in that same pass (nil when they do not parse).
    private struct Checked: Sendable {
        let file: BootFileRoot.ServedFile
        let headers: PEImage?
    }

    private let verified = Mutex<[String: Checked]>([:])
    /// Images being hashed now: a second request for one is told to come back rather than
    /// hash it again, so one image never holds more than one thread.
    private let hashing = Mutex<Set<String>>([])

    /// Opens (creating) the folder at `path`; `fetch` brings the images it lacks.
    public init(path: String, fetch: Fetch? = nil) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
        self.fetch = fetch
        root = try BootFileRoot(path: path)
    }

    public func resolve(_ name: String) throws(BootFileRoot.Refusal) -> BootFileRoot.ServedFile {
        do { return try resolvePresent(name) } catch {
            guard case .notFound = error, let fetch, let digest = Self.familyDigest(name) else { throw error }
            try fetched(digest, with: fetch, for: name)
            return try resolvePresent(name)
        }
    }

    /// `name` as the folder holds it now; only an image's own files are served from it.
    private func resolvePresent(_ name: String) throws(BootFileRoot.Refusal) -> BootFileRoot.ServedFile {
        guard Self.familyDigest(name) != nil else { throw .notFound(name) }
        if let (image, section) = Self.sectionName(name) { return try self.section(section, of: image, as: name) }
        guard Self.recordedDigest(name) != nil else { return try root.resolve(name) }
        return try checked(name).file
    }

    /// Fetches image `digest` for the request of `name`: one request fetches, others asking
    /// meanwhile are told to come back, as are all while the database is away; one that
    /// cannot be fetched is not found.
    private func fetched(_ digest: String, with fetch: Fetch, for name: String) throws(BootFileRoot.Refusal) {
        let image = digest + ".efi"
        guard hashing.withLock({ $0.insert(image).inserted }) else { throw .busy(name) }
        defer { hashing.withLock { _ = $0.remove(image) } }
        do { try fetch(digest) } catch {
            if case ImageError.store(.unavailable) = error { throw .busy(name) }
            throw .notFound(name)
        }
    }

    /// The file names of one image, each with what follows its digest.
    static let family = ["efi", "efi.sig"] + servedSections.keys.flatMap { [$0, $0 + ".sig"] }

    /// The SHA-256 (hex) that names `name` when it is one of an image's files (``family``).
    static func familyDigest(_ name: String) -> String? {
        guard let dot = name.firstIndex(of: "."), family.contains(String(name[name.index(after: dot)...])) else {
            return nil
        }
        let digest = String(name[..<dot])
        return recordedDigest(digest + ".efi") == nil ? nil : digest
    }

    /// The content-addressed file `name`, hashed unless it is as it was when it last matched.
    private func checked(_ name: String) throws(BootFileRoot.Refusal) -> Checked {
        let file = try root.resolve(name)
        if let known = verified.withLock({ $0[name] }), known.file == file { return known }
        guard hashing.withLock({ $0.insert(name).inserted }) else { throw .busy(name) }
        defer { hashing.withLock { _ = $0.remove(name) } }
        // Hashed, then found again unchanged: a file rewritten meanwhile is not taken as checked.
        guard let (digest, head) = Self.sha256(file.path), Hex.encode(digest) == Self.recordedDigest(name),
            (try? root.resolve(name)) == file
        else {
            throw .corrupt(name)
        }
        let checked = Checked(file: file, headers: try? PEImage(headers: head, fileSize: file.size))
        verified.withLock { $0[name] = checked }
        return checked
    }

    /// The sections served by name, and the PE section each is.
    public static let servedSections = ["linux": ".linux", "initrd": ".initrd"]

    /// `<hex>.linux` → (`<hex>.efi`, `.linux`); nil for other names.
    static func sectionName(_ name: String) -> (image: String, section: String)? {
        guard let dot = name.lastIndex(of: "."), let section = servedSections[String(name[name.index(after: dot)...])]
        else { return nil }
        let image = String(name[..<dot]) + ".efi"
        return recordedDigest(image) == nil ? nil : (image, section)
    }

    /// Section `section` of the checked image `image`, served as `name`, where the headers
    /// read while it was hashed place it.
    private func section(_ section: String, of image: String, as name: String) throws(BootFileRoot.Refusal)
        -> BootFileRoot.ServedFile
    {
        let checked = try checked(image)
        guard let found = checked.headers?.section(section), found.rawSize > 0 else { throw .notFound(name) }
        return checked.file.part(String(section.dropFirst()), offset: found.rawOffset, size: found.storedContents.count)
    }

    /// PE headers larger than this are not kept (a UKI's take 1 KiB).
    static let maxHeaderSize = 64 << 10

    /// The file name an image with this SHA-256 has.
    public static func name(sha256: [UInt8]) -> String { Hex.encode(sha256) + ".efi" }

    /// The SHA-256 a content-addressed name records (`<64 hex>.efi`), or nil for other files.
    static func recordedDigest(_ name: String) -> String? {
        guard name.hasSuffix(".efi") else { return nil }
        let hex = name.dropLast(4)
        let lowercaseHex = { (byte: UInt8) in (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) }
        return hex.utf8.count == 64 && hex.utf8.allSatisfy(lowercaseHex) ? String(hex) : nil
    }

    /// The SHA-256 of the file at `path`, read in 1 MiB pieces, and its first bytes (up to
    /// ``maxHeaderSize``) from the same read.
    static func sha256(_ path: String) -> (digest: [UInt8], head: [UInt8])? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = Hasher(.sha256)
        var head: [UInt8]?
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            if head == nil { head = [UInt8](chunk.prefix(maxHeaderSize)) }
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return (hasher.finalize(), head ?? [])
    }
}
