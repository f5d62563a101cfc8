import Foundation
import Synchronization
import ImageBuilding
import Store
import WardenAPI
import WardenCrypto

/// An appliance's image folder as a cache of the image bytes in the database every
/// appliance shares: a file is installed under its SHA-256 once its bytes match it, and
/// signed there with the image key (every appliance holds the same), so that only the
/// image itself crosses between appliances.
struct ImageCache: Sendable {
    let folder: String
    let store: EnrolmentStore
    let signer: DetachedSigner
    let catalogue = CatalogueSnapshot()
    let failures = FetchFailures()

    /// Where image `sha256` (hex) lives in the folder.
    func path(_ sha256: String) -> String { folder + "/" + sha256 + ".efi" }

    /// A new name in the folder for a file on its way in, which ``install(_:sha256:image:bytes:signingSections:)`` moves.
    func incomingPath() -> String { folder + "/.incoming-" + UUID().uuidString }

    /// Moves `file`, whose bytes (`bytes`, parsed as `image`) have SHA-256 `sha256`, into
    /// the folder, read-only (replacing whatever file had that name), and writes the
    /// signatures it lacks: the image's and, unless it is a file signed for Secure Boot
    /// (`signingSections` false), those of the sections legacy BIOS machines are served.
    func install(_ file: String, sha256: String, image: PEImage, bytes: [UInt8], signingSections: Bool = true) throws {
        let target = path(sha256)
        chmod(file, 0o444)
        // Another fetch may have installed the same checked bytes meanwhile: either is the image.
        if rename(file, target) != 0, !FileManager.default.fileExists(atPath: target) {
            throw ImageError.io("cannot move the image into \(folder) (\(String(cString: strerror(errno))))")
        }
        if !FileManager.default.fileExists(atPath: target + ".sig") {
            // Signed as checked, in memory: never the file as read again from disk.
            try Data(try signer.sign(bytes[...])).write(to: URL(fileURLWithPath: target + ".sig"), options: .atomic)
        }
        if signingSections { try signSections(of: image, bytes, sha256: sha256) }
    }

    /// Writes `bytes` (parsed as `image`, SHA-256 `sha256`) into the folder as
    /// ``install(_:sha256:image:bytes:signingSections:)`` moves a file there.
    func install(_ bytes: [UInt8], sha256: String, image: PEImage, signingSections: Bool) throws {
        let incoming = incomingPath()
        defer { try? FileManager.default.removeItem(atPath: incoming) }
        try Data(bytes).write(to: URL(fileURLWithPath: incoming))
        try install(incoming, sha256: sha256, image: image, bytes: bytes, signingSections: signingSections)
    }

    /// Signs the kernel and initrd sections legacy BIOS machines are served, where they
    /// have no signature yet.
    func signSections(of image: PEImage, _ bytes: [UInt8], sha256: String) throws {
        for (served, section) in ImageFiles.servedSections {
            let signature = folder + "/" + sha256 + "." + served + ".sig"
            guard !FileManager.default.fileExists(atPath: signature),
                let contents = ImageCatalogue.contents(of: section, in: image, bytes)
            else { continue }
            try Data(try signer.sign(contents)).write(to: URL(fileURLWithPath: signature), options: .atomic)
        }
    }

    /// Fetches catalogue file `sha256` (hex; an image, or one signed for Secure Boot) from the
    /// database into the folder: its bytes must have that digest and be an image, or nothing
    /// is installed.
    func fetch(_ sha256: String, now: Date = Date()) throws(ImageError) {
        guard let record = try catalogue.record(sha256, in: store), let digest = Hex.decode(sha256) else {
            throw .invalid("no image in the catalogue has SHA-256 \(sha256)")
        }
        if let failure = failures.recent(sha256, now: now) { throw failure }
        do { try fetch(record, digest: digest) } catch {
            failures.note(sha256, error, now: now)
            throw error
        }
    }

    /// Fetches the file of `record` whose SHA-256 is `digest`: the image, or the image as
    /// signed for Secure Boot.
    private func fetch(_ record: ImageRecord, digest: [UInt8]) throws(ImageError) {
        let sha256 = Hex.encode(digest)
        let size = sha256 == record.secureBootSigned?.sha256 ? record.secureBootSigned?.size ?? 0 : record.size
        let incoming = incomingPath()
        defer { try? FileManager.default.removeItem(atPath: incoming) }
        let complete: Bool
        do { complete = try store.readImageContent(sha256: digest, size: size, into: incoming) } catch {
            throw .store(error)
        }
        guard complete else { throw .io("image \(record.name): the database lacks part of its bytes") }
        guard let data = FileManager.default.contents(atPath: incoming) else {
            throw .io("image \(record.name): the fetched file cannot be read")
        }
        let bytes = [UInt8](data)
        guard DigestAlgorithm.sha256.hash(bytes) == digest else {
            throw .invalid("image \(record.name): the bytes in the database do not match its SHA-256")
        }
        do {
            try install(
                incoming, sha256: sha256, image: try PEImage(bytes), bytes: bytes,
                signingSections: sha256 == record.sha256)
        } catch {
            throw .io("image \(record.name): cannot install it: \(error)")
        }
    }
}

/// Catalogue images whose fetch failed, and why: asked for again within ``retryAfter``, the
/// failure is repeated without reading the database, since a broken image would otherwise
/// cost a read of all its bytes per request, and anyone on the boot network can send
/// requests. Only catalogued digests get here; a database outage is not remembered.
final class FetchFailures: Sendable {
    /// Shorter than a minute, so that the minute's synchronisation tries again.
    static let retryAfter: TimeInterval = 50
    private let failed = Mutex<[String: (at: Date, error: ImageError)]>([:])

    /// Why image `sha256` failed within ``retryAfter`` of `now`, if it did.
    func recent(_ sha256: String, now: Date) -> ImageError? {
        failed.withLock { failed in
            guard let last = failed[sha256] else { return nil }
            if now.timeIntervalSince(last.at) < Self.retryAfter { return last.error }
            failed[sha256] = nil
            return nil
        }
    }

    func note(_ sha256: String, _ error: ImageError, now: Date) {
        if case .store(.unavailable) = error { return }
        failed.withLock { $0[sha256] = (now, error) }
    }
}

/// The catalogue's images by SHA-256 as read at most ``maxAge`` ago: a request for a digest
/// no image has (anyone on the boot network can send one) costs the database nothing more.
final class CatalogueSnapshot: Sendable {
    static let maxAge: TimeInterval = 5
    private let state = Mutex<(read: Date, images: [String: ImageRecord])>((.distantPast, [:]))

    /// The image whose file (or whose file signed for Secure Boot) has SHA-256 (hex) `sha256`,
    /// if the catalogue has one.
    func record(_ sha256: String, in store: EnrolmentStore, now: Date = Date()) throws(ImageError) -> ImageRecord? {
        let (read, images) = state.withLock { $0 }
        if now.timeIntervalSince(read) < Self.maxAge { return images[sha256] }
        let fresh: [ImageRecord]
        do { fresh = try store.images() } catch { throw .store(error) }
        let files =
            fresh.map { ($0.sha256, $0) }
            + fresh.compactMap { image in image.secureBootSigned.map { ($0.sha256, image) } }
        let byDigest = Dictionary(files) { first, _ in first }
        state.withLock { $0 = (now, byDigest) }
        return byDigest[sha256]
    }
}
