import Boot
import Foundation
import ImageBuilding
import Images
import Store
import Testing
import TestSupport
import WardenCrypto

/// Authenticode digests against pesign's, UKIs assembled on Debian's systemd stub, and the
/// image catalogue: digests recorded, files content-addressed and signed, tampering refused.
@Suite struct UKITests {
    /// pesign's Authenticode SHA-256 of a file, in hex.
    static func pesign(_ path: String) throws -> String {
        let result = try Command.run("pesign", ["-h", "-d", "sha256", "-i", path])
        guard result.status == 0, let hash = result.stdout.split(separator: " ").last else {
            throw CommandFailure("pesign \(path): \(result.stderr)")
        }
        return hash.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A UKI of made-up kernel and initrd bytes (objcopy does not look inside them).
    static func buildUKI(in folder: URL, commandLine: String = "console=ttyS0 panic=-1") throws -> URL {
        let kernel = folder.appendingPathComponent("vmlinuz"), initrd = folder.appendingPathComponent("initrd.img")
        try Data((0..<300_001).map { UInt8(truncatingIfNeeded: $0 * 7) }).write(to: kernel)
        try Data((0..<100_003).map { UInt8(truncatingIfNeeded: $0 * 13) }).write(to: initrd)
        let output = folder.appendingPathComponent("uki.efi")
        try UKIBuilder().build(
            kernel: kernel.path, initrd: initrd.path, commandLine: commandLine, osRelease: "ID=warden-test\n",
            output: output.path)
        return output
    }

    @Test(arguments: [UKIBuilder.debianStub, "/usr/lib/ipxe/ipxe.efi", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"])
    func authenticodeAgreesWithPesign(_ path: String) throws {
        let digest = try Authenticode.digest(TestPaths.bytes(URL(fileURLWithPath: path)))
        #expect(Hex.encode(digest) == (try Self.pesign(path)))
    }

    @Test func aUKICarriesItsSectionsAndPesignAgrees() throws {
        let folder = try TestPaths.temporaryDirectory("uki")
        let uki = try Self.buildUKI(in: folder)
        let bytes = try TestPaths.bytes(uki)
        let image = try PEImage(bytes)
        for name in [".osrel", ".cmdline", ".linux", ".initrd"] {
            #expect(image.section(name) != nil, "\(name) missing")
        }
        let linux = try #require(image.section(".linux"))
        #expect(
            Array(bytes[linux.rawOffset..<(linux.rawOffset + linux.virtualSize)])
                == (try TestPaths.bytes(folder.appendingPathComponent("vmlinuz"))))
        #expect(Hex.encode(try Authenticode.digest(bytes)) == (try Self.pesign(uki.path)))
        let sections = try Command.run("objdump", ["-h", uki.path])
        #expect(sections.status == 0 && sections.stdout.contains(".initrd"))
    }

    @Test func truncatedOrForeignFilesAreNotPEImages() throws {
        let stub = try TestPaths.bytes(URL(fileURLWithPath: UKIBuilder.debianStub))
        for length in [0, 2, 0x40, 0x90, 0x120, 0x200] {
            #expect(throws: PEImage.ParseError.self) { _ = try PEImage(Array(stub.prefix(length))) }
        }
        #expect(throws: PEImage.ParseError.self) { _ = try PEImage(Array("#!ipxe\nboot\n".utf8)) }
        var lying = stub
        lying[0x3C] = 0xFF; lying[0x3D] = 0xFF; lying[0x3E] = 0xFF; lying[0x3F] = 0x7F
        #expect(throws: PEImage.ParseError.self) { _ = try PEImage(lying) }
    }
}

/// The catalogue against a real store and a signing certificate made with openssl.
@Suite struct ImageCatalogueTests {
    struct Rig {
        let folder: URL
        let store: EnrolmentStore
        let catalogue: ImageCatalogue
        let signer: DetachedSigner
        /// The rack's Secure Boot db key, when the rig has one.
        let secureBootSigner: AuthenticodeSigner?
        private let key: KeyEncryptionKey
        private let location: StoreLocation

        init(backend: StoreBackend = .sqlite, secureBoot: Bool = false) throws {
            folder = try TestPaths.temporaryDirectory("catalogue")
            key = try KeyEncryptionKey.loadOrCreate(at: folder.appendingPathComponent("kek.key").path)
            location = try backend.freshLocation(in: folder)
            store = try EnrolmentStore(location: location, key: key)
            let made = try Command.run(
                "openssl",
                [
                    "req", "-x509", "-newkey", "rsa:3072", "-nodes", "-subj", "/CN=test image signing", "-days", "1",
                    "-addext", "extendedKeyUsage=codeSigning", "-keyout", "sign.key", "-out", "sign.pem",
                ], in: folder)
            guard made.status == 0 else { throw CommandFailure("openssl req: \(made.stderr)") }
            signer = DetachedSigner(
                certificatePEM: try String(contentsOf: folder.appendingPathComponent("sign.pem"), encoding: .utf8),
                keyPEM: try String(contentsOf: folder.appendingPathComponent("sign.key"), encoding: .utf8))
            if secureBoot {
                let db = try Command.run(
                    "openssl",
                    [
                        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test db", "-days", "1",
                        "-keyout", "db.key", "-out", "db.pem",
                    ], in: folder)
                guard db.status == 0 else { throw CommandFailure("openssl req: \(db.stderr)") }
                secureBootSigner = AuthenticodeSigner(
                    certificatePath: folder.appendingPathComponent("db.pem").path,
                    keyPath: folder.appendingPathComponent("db.key").path)
            } else {
                secureBootSigner = nil
            }
            catalogue = try ImageCatalogue(
                folder: folder.appendingPathComponent("images").path, store: store, signer: signer,
                secureBootSigner: secureBootSigner)
        }

        /// Whether sbsigntool accepts `path` as signed by the rig's Secure Boot db key.
        func secureBootSignatureHolds(_ path: String) throws -> Bool {
            try Command.run("sbverify", ["--cert", folder.appendingPathComponent("db.pem").path, path]).status == 0
        }

        /// The catalogue of a second appliance on the same database: its own store, its own
        /// (empty) image folder, the same keys.
        func secondAppliance() throws -> (store: EnrolmentStore, catalogue: ImageCatalogue) {
            let store = try EnrolmentStore(location: location, key: key, appliance: "appliance-b")
            let folder = try TestPaths.temporaryDirectory("catalogue-b").appendingPathComponent("images").path
            return (
                store,
                try ImageCatalogue(folder: folder, store: store, signer: signer, secureBootSigner: secureBootSigner)
            )
        }

        /// Whether `path.sig` is a valid signature of `path` by the image key.
        func signatureHolds(_ path: String) throws -> Bool {
            try Command.run(
                "openssl",
                [
                    "cms", "-verify", "-binary", "-inform", "DER", "-in", path + ".sig", "-content", path,
                    "-CAfile", folder.appendingPathComponent("sign.pem").path, "-purpose", "any", "-out", "/dev/null",
                ]
            ).status == 0
        }

        /// A fresh upload of a UKI built in its own folder.
        func upload(commandLine: String = "console=ttyS0 panic=-1") throws -> String {
            let build = folder.appendingPathComponent(UUID().uuidString)
            try FileManager.default.createDirectory(at: build, withIntermediateDirectories: true)
            return try UKITests.buildUKI(in: build, commandLine: commandLine).path
        }
    }

    @Test func anImportRecordsDigestsStoresAndSigns() throws {
        let rig = try Rig()
        let upload = try rig.upload()
        let expectedAuthenticode = try UKITests.pesign(upload)
        let bytes = try TestPaths.bytes(URL(fileURLWithPath: upload))
        let record = try rig.catalogue.add(name: "node", upload: upload, actor: "test")
        #expect(record.authenticodeSHA256 == expectedAuthenticode)
        #expect(record.commandLine == "console=ttyS0 panic=-1" && record.size == bytes.count)
        var hasher = Hasher(.sha256)
        hasher.update(bytes)
        #expect(record.sha256 == Hex.encode(hasher.finalize()))
        let stored = rig.catalogue.files.path + "/" + record.sha256 + ".efi"
        #expect(try TestPaths.bytes(URL(fileURLWithPath: stored)) == bytes)
        #expect(!FileManager.default.fileExists(atPath: upload), "the upload was moved into the store")
        #expect(try rig.signatureHolds(stored))
        #expect(try rig.store.auditRecords(subjectPrefix: "image/node").map(\.action) == ["image-added"])
        #expect(throws: ImageError.self) {
            _ = try rig.catalogue.add(name: "node", upload: try rig.upload(), actor: "test")
        }
    }

    @Test func aChangedFileOnDiskIsRefusedNotServed() throws {
        let rig = try Rig()
        let record = try rig.catalogue.add(name: "node", upload: try rig.upload(), actor: "test")
        let name = record.sha256 + ".efi"
        #expect(try rig.catalogue.files.resolve(name).size == record.size)
        let path = rig.catalogue.files.path + "/" + name
        chmod(path, 0o644)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(record.size / 2))
        try handle.write(contentsOf: Data([0x5A]))
        try handle.close()
        #expect(throws: BootFileRoot.Refusal.corrupt(name)) { _ = try rig.catalogue.files.resolve(name) }
    }

    @Test func whatIsNotAServableUKIIsRefused() throws {
        let rig = try Rig()
        let stubCopy = rig.folder.appendingPathComponent("stub.efi")
        try FileManager.default.copyItem(atPath: UKIBuilder.debianStub, toPath: stubCopy.path)
        #expect(throws: ImageError.self) {
            _ = try rig.catalogue.add(name: "bare-stub", upload: stubCopy.path, actor: "test")
        }
        #expect(throws: ImageError.self) {
            _ = try rig.catalogue.add(
                name: "sneaky", upload: try rig.upload(commandLine: "quiet ${reboot}"), actor: "test")
        }
        #expect(try rig.store.images().isEmpty)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: rig.catalogue.files.path).isEmpty,
            "a refused upload left a file behind")
    }
}
