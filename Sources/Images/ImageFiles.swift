import Boot
import Foundation
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
public final class ImageFiles: BootFileSource {
    public let path: String
    private let root: BootFileRoot
    /// Each file as it was found when its digest last matched.
    private let verified = Mutex<[String: BootFileRoot.ServedFile]>([:])

    /// Opens (creating) the folder at `path`.
    public init(path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
        root = try BootFileRoot(path: path)
    }

    public func resolve(_ name: String) throws(BootFileRoot.Refusal) -> BootFileRoot.ServedFile {
        if let (image, section) = Self.sectionName(name) { return try self.section(section, of: image, as: name) }
        let file = try root.resolve(name)
        guard let expected = Self.recordedDigest(name), verified.withLock({ $0[name] }) != file else { return file }
        // Hashed, then found again unchanged: a file rewritten meanwhile is not taken as checked.
        guard let digest = Self.sha256(file.path), Hex.encode(digest) == expected, (try? root.resolve(name)) == file else { throw .corrupt(name) }
        verified.withLock { $0[name] = file }
        return file
    }

    /// The sections served by name, and the PE section each is.
    public static let servedSections = ["linux": ".linux", "initrd": ".initrd"]

    /// `<hex>.linux` → (`<hex>.efi`, `.linux`); nil for other names.
    static func sectionName(_ name: String) -> (image: String, section: String)? {
        guard let dot = name.lastIndex(of: "."), let section = servedSections[String(name[name.index(after: dot)...])] else { return nil }
        let image = String(name[..<dot]) + ".efi"
        return recordedDigest(image) == nil ? nil : (image, section)
    }

    /// Section `section` of the checked image `image`, served as `name`.
    private func section(_ section: String, of image: String, as name: String) throws(BootFileRoot.Refusal) -> BootFileRoot.ServedFile {
        let file = try resolve(image)
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw .notFound(name) }
        defer { try? handle.close() }
        guard let headers = try? handle.read(upToCount: Self.maxHeaderSize), let pe = try? PEImage(headers: [UInt8](headers), fileSize: file.size),
              let found = pe.section(section), found.rawSize > 0
        else { throw .notFound(name) }
        return file.part(String(section.dropFirst()), offset: found.rawOffset, size: found.storedContents.count)
    }

    /// PE headers larger than this are not read (a UKI's take 1 KiB).
    static let maxHeaderSize = 64 << 10

    /// The file name an image with this SHA-256 has.
    public static func name(sha256: [UInt8]) -> String { Hex.encode(sha256) + ".efi" }

    /// The SHA-256 a content-addressed name records (`<64 hex>.efi`), or nil for other files.
    static func recordedDigest(_ name: String) -> String? {
        guard name.hasSuffix(".efi") else { return nil }
        let hex = name.dropLast(4)
        return hex.count == 64 && hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) ? String(hex) : nil
    }

    /// The SHA-256 of the file at `path`, read in 1 MiB pieces.
    static func sha256(_ path: String) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = Hasher(.sha256)
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalize()
    }
}
