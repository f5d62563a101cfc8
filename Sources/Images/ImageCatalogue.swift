import Boot
import Foundation
import ImageBuilding
import Octets
import Store
import WardenAPI
import WardenCrypto

/// Why an image was not added or removed.
public enum ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The upload is not a Unified Kernel Image Warden can serve.
    case invalid(String)
    case store(StoreError)
    case io(String)

    public var description: String {
        switch self {
        case .invalid(let why): why
        case .store(let error): error.description
        case .io(let why): why
        }
    }
}

/// The catalogue's files and records together: an import checks a Unified Kernel Image,
/// records its digests (SHA-256, SHA-384, Authenticode SHA-256 for PCR 4, its kernel and
/// initrd sections) and what booting it measures (the kernel's Authenticode digest, the
/// PCR 11 events), stores it under its SHA-256 and signs it; nothing the uploader says
/// about the file is taken on trust. A kernel that is not itself a PE image has no
/// Authenticode digest: the stub then starts it without the firmware measuring it.
///
/// The image's bytes are stored in the database (``EnrolmentStore/storeImageContent(sha256:bytes:now:)``)
/// before its record; the image folder is each appliance's cache of them (``ImageCache``).
public struct ImageCatalogue: Sendable {
    public let files: ImageFiles
    private let store: EnrolmentStore
    private let cache: ImageCache
    private let secureBootSigner: AuthenticodeSigner?

    /// The catalogue of `store`, served from the image folder `folder`, which it fills from
    /// the database as images are asked for; signing with `signer` and, when the rack has
    /// Secure Boot keys, Authenticode-signing each image with `secureBootSigner`.
    public init(
        folder: String, store: EnrolmentStore, signer: DetachedSigner, secureBootSigner: AuthenticodeSigner? = nil
    ) throws {
        let cache = ImageCache(folder: folder, store: store, signer: signer)
        self.files = try ImageFiles(path: folder) { sha256 in try cache.fetch(sha256) }
        self.store = store
        self.cache = cache
        self.secureBootSigner = secureBootSigner
    }

    /// Adds the UKI at `upload` (a file this call moves or removes) as image `name`.
    public func add(name: String, upload: String, actor: String) throws(ImageError) -> ImageRecord {
        defer { try? FileManager.default.removeItem(atPath: upload) }
        if (try? store.image(named: name)) != nil { throw .store(.duplicate("image \(name)")) }
        guard let data = FileManager.default.contents(atPath: upload) else { throw .io("the upload cannot be read") }
        let bytes = [UInt8](data)
        let (image, authenticode) = try Self.parsed(bytes, as: "")
        guard let linux = Self.contents(of: ".linux", in: image, bytes),
            let initrd = Self.contents(of: ".initrd", in: image, bytes),
            let commandLineBytes = Self.contents(of: ".cmdline", in: image, bytes)
        else { throw .invalid("not a Unified Kernel Image: it needs .linux, .initrd and .cmdline sections") }
        let commandLine = String(decoding: commandLineBytes.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines)
        if let problem = BootArgument.commandLineProblem(commandLine) { throw .invalid(problem) }
        var record = ImageRecord(
            name: name, sha256: DigestAlgorithm.sha256.hash(bytes), sha384: DigestAlgorithm.sha384.hash(bytes),
            authenticodeSHA256: authenticode,
            linuxSHA256: DigestAlgorithm.sha256.hash(linux), initrdSHA256: DigestAlgorithm.sha256.hash(initrd),
            commandLine: commandLine, size: bytes.count,
            kernelAuthenticodeSHA256: Self.kernelAuthenticode(of: image, bytes),
            sectionMeasurements: UKIMeasurements.sectionEvents(of: image, bytes))
        do { try cache.install(upload, sha256: record.sha256, image: image, bytes: bytes) } catch {
            throw .io("cannot store the image: \(error)")
        }
        if let secureBootSigner { record.secureBootSigned = try signed(bytes, name: name, with: secureBootSigner) }
        do throws(StoreError) {
            try store.storeImageContent(sha256: Hex.decode(record.sha256) ?? [], bytes: bytes)
            try store.addImage(record, actor: actor)
            return try store.image(named: name)
        } catch { throw .store(error) }
    }

    /// `bytes` of image `name` signed for Secure Boot, installed in the folder and stored in
    /// the database under their own SHA-256, which the returned record names.
    private func signed(_ bytes: [UInt8], name: String, with signer: AuthenticodeSigner) throws(ImageError)
        -> ImageRecord.SignedImage
    {
        let signed: [UInt8]
        do { signed = try signer.sign(bytes, name: "image \(name)") } catch { throw .invalid(error.description) }
        let (image, authenticode) = try Self.parsed(signed, as: "image \(name) signed for Secure Boot does not parse: ")
        let digest = DigestAlgorithm.sha256.hash(signed)
        do { try cache.install(signed, sha256: Hex.encode(digest), image: image, signingSections: false) } catch {
            throw .io("cannot store image \(name) signed for Secure Boot: \(error)")
        }
        do { try store.storeImageContent(sha256: digest, bytes: signed) } catch { throw .store(error) }
        return ImageRecord.SignedImage(sha256: digest, authenticodeSHA256: authenticode, size: signed.count)
    }

    /// Signs for Secure Boot the images that have no signed file yet (added before the rack
    /// had Secure Boot keys, or before Warden signed images): once for every appliance, since
    /// the first appliance's signed file is recorded and the others fetch it. Returns what was
    /// done or why not, one line per image.
    public func signForSecureBoot(actor: String) -> [String] {
        guard let secureBootSigner, let images = try? store.images() else { return [] }
        var done: Set<String> = []
        return images.compactMap { record -> String? in
            guard record.secureBootSigned == nil, done.insert(record.sha256).inserted else { return nil }
            do throws(ImageError) {
                let path = cache.path(record.sha256)
                if !FileManager.default.fileExists(atPath: path) { try cache.fetch(record.sha256) }
                guard let data = FileManager.default.contents(atPath: path),
                    Hex.encode(DigestAlgorithm.sha256.hash([UInt8](data))) == record.sha256
                else { throw .invalid("its file does not match its SHA-256") }
                let ours = try signed([UInt8](data), name: record.name, with: secureBootSigner)
                let recorded: ImageRecord.SignedImage
                do throws(StoreError) {
                    recorded = try store.recordSignedImage(sha256: record.sha256, ours, actor: actor)
                } catch { throw .store(error) }
                return recorded == ours
                    ? "image \(record.name): signed for Secure Boot (sha256 \(ours.sha256))"
                    : "image \(record.name): another appliance signed it first; its file is served"
            } catch {
                return "image \(record.name): not signed for Secure Boot: \(error)"
            }
        }
    }

    /// Completes images added before Warden recorded what booting them measures, signed
    /// their kernel and initrd sections, or kept their bytes in the database: each is read
    /// once from its file (fetched from the database when this folder lacks it), whose
    /// SHA-256 must still be the recorded one; measurements are recorded and audited, the
    /// missing signatures written, the bytes stored. Returns what was done or why not, one
    /// line per image; one image's failure does not stop the others.
    public func completeRecords(actor: String) -> [String] {
        guard let images = try? store.images() else { return ["images: the catalogue cannot be read"] }
        return images.compactMap { record in
            let signed = ImageFiles.servedSections.keys.allSatisfy {
                FileManager.default.fileExists(atPath: files.path + "/" + record.sha256 + ".\($0).sig")
            }
            let stored =
                (try? store.hasImageContent(sha256: Hex.decode(record.sha256) ?? [], size: record.size)) ?? false
            guard record.sectionMeasurements == nil || !signed || !stored else { return nil }
            do throws(ImageError) {
                try complete(record, actor: actor, storingItsBytes: !stored)
                return
                    "image \(record.name): completed (what booting it measures, its signatures, its bytes in the database)"
            } catch {
                return "image \(record.name): not completed: \(error)"
            }
        }
    }

    private func complete(_ record: ImageRecord, actor: String, storingItsBytes: Bool) throws(ImageError) {
        let path = cache.path(record.sha256)
        if !storingItsBytes, !FileManager.default.fileExists(atPath: path) { try cache.fetch(record.sha256) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .io("its file cannot be read") }
        let bytes = [UInt8](data)
        guard Hex.encode(DigestAlgorithm.sha256.hash(bytes)) == record.sha256 else {
            throw .invalid("its file does not match its SHA-256")
        }
        let image: PEImage
        do { image = try PEImage(bytes) } catch { throw .invalid("\(error)") }
        do { try cache.signSections(of: image, bytes, sha256: record.sha256) } catch {
            throw .io("cannot sign its sections: \(error)")
        }
        if storingItsBytes {
            do { try store.storeImageContent(sha256: Hex.decode(record.sha256) ?? [], bytes: bytes) } catch {
                throw .store(error)
            }
        }
        guard record.sectionMeasurements == nil else { return }
        do throws(StoreError) {
            try store.recordImageMeasurements(
                name: record.name, kernelAuthenticodeSHA256: Self.kernelAuthenticode(of: image, bytes),
                sectionMeasurements: UKIMeasurements.sectionEvents(of: image, bytes), actor: actor)
        } catch { throw .store(error) }
    }

    /// The Authenticode digest of the kernel section, when it is a PE image (the stub then
    /// loads it through the firmware, which measures it).
    private static func kernelAuthenticode(of image: PEImage, _ bytes: [UInt8]) -> [UInt8]? {
        contents(of: ".linux", in: image, bytes).flatMap { try? Authenticode.digest(Array($0)) }
    }

    /// Brings the image folder in line with the catalogue every appliance shares: images
    /// added through another appliance are fetched, and the files of images removed there
    /// are deleted (once unchanged for ``pruneAge``, so that an upload being added here is
    /// not). Returns what changed, one line per image.
    public func synchronise(now: Date = Date()) -> [String] {
        guard let images = try? store.images() else { return [] }
        var lines: [String] = []
        for record in images {
            for (file, what) in [(record.sha256, "")]
                + (record.secureBootSigned.map { [($0.sha256, " signed for Secure Boot")] } ?? [])
            where !FileManager.default.fileExists(atPath: cache.path(file)) {
                do throws(ImageError) {
                    try cache.fetch(file)
                    lines.append("image \(record.name)\(what): fetched from the database")
                } catch {
                    lines.append("image \(record.name)\(what): not fetched: \(error)")
                }
            }
        }
        let catalogued = Set(images.flatMap { [$0.sha256] + ($0.secureBootSigned.map { [$0.sha256] } ?? []) })
        var pruned: Set<String> = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: files.path)) ?? [] {
            guard let digest = ImageFiles.familyDigest(name), !catalogued.contains(digest) else { continue }
            let path = files.path + "/" + name
            var status = stat()
            guard stat(path, &status) == 0, now.timeIntervalSince1970 - Double(status.st_ctim.tv_sec) >= Self.pruneAge
            else { continue }
            try? FileManager.default.removeItem(atPath: path)
            if pruned.insert(digest).inserted { lines.append("image file \(digest): removed, no image is this file") }
        }
        return lines
    }

    /// How long a file no image names stays before ``synchronise(now:)`` deletes it.
    static let pruneAge: TimeInterval = 600

    /// Removes image `name`; its files (the image, and the one signed for Secure Boot) go
    /// too, each unless another image is that file.
    public func remove(name: String, actor: String) throws(ImageError) {
        let removed: [String]
        do throws(StoreError) { removed = try store.removeImage(named: name, actor: actor) } catch {
            throw .store(error)
        }
        for digest in removed {
            let file = files.path + "/" + digest
            for path in [file + ".efi", file + ".efi.sig"] + ImageFiles.servedSections.keys.map({ file + ".\($0).sig" })
            {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// `bytes` as a PE image, with its Authenticode digest; refused as invalid, the reason
    /// after `prefix`, when they are not one.
    private static func parsed(_ bytes: [UInt8], as prefix: String) throws(ImageError) -> (PEImage, [UInt8]) {
        do { return (try PEImage(bytes), try Authenticode.digest(bytes)) } catch { throw .invalid("\(prefix)\(error)") }
    }

    /// A section's bytes, without the padding to the file alignment.
    static func contents(of name: String, in image: PEImage, _ bytes: [UInt8]) -> ArraySlice<UInt8>? {
        guard let section = image.section(name), section.rawSize > 0 else { return nil }
        return bytes[section.storedContents]
    }
}
