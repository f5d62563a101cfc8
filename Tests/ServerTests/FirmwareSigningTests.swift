import Foundation
import ImageBuilding
import Images
import Server
import Testing
import TestSupport

/// With the rack's Secure Boot keys, the TFTP root's EFI builds of iPXE go in signed with
/// the db key: sbsigntool's `sbverify` accepts them under that certificate only, and the
/// Authenticode digest the firmware measures is the one of the file Debian ships.
@Suite struct FirmwareSigningTests {
    static let debianIPXE = ["/usr/lib/ipxe/ipxe.efi", "/usr/lib/ipxe/snponly.efi", "/usr/lib/ipxe/undionly.kpxe"]

    func keys(_ name: String) throws -> SecureBootKeys {
        let state = try StateFolder.initialise(
            at: try TestPaths.temporaryDirectory(name).appendingPathComponent(".warden").path)
        let keys = SecureBootKeys(folder: state)
        try keys.initialise(SecureBootKeys.Request())
        return keys
    }

    @Test(.enabled(if: debianIPXE.allSatisfy { FileManager.default.fileExists(atPath: $0) }))
    func iPXEsEFIBuildsAreSignedWithTheDBKey() throws {
        let keys = try keys("firmware-signing")
        let other = try self.keys("firmware-signing-other")
        let signer = try #require(keys.imageSigner)
        let root = try TestPaths.temporaryDirectory("tftp-root").path
        let manifest = FirmwareFiles.debianIPXE
        #expect(try manifest.install(into: root, signingWith: signer).isEmpty)
        for name in ["ipxe.efi", "snponly.efi"] {
            let path = root + "/" + name
            let accepted = try Command.run("sbverify", ["--cert", keys.folder.url(.secureBootDB).path, path])
            #expect(accepted.status == 0, "\(name): \(accepted.stdout) \(accepted.stderr)")
            let refused = try Command.run("sbverify", ["--cert", other.folder.url(.secureBootDB).path, path])
            #expect(refused.status != 0, "\(name) verified under another db certificate")
            let shipped = try #require(FileManager.default.contents(atPath: "/usr/lib/ipxe/" + name))
            let served = try #require(FileManager.default.contents(atPath: path))
            #expect(served != shipped)
            #expect(try Authenticode.digest([UInt8](served)) == Authenticode.digest([UInt8](shipped)), "\(name)")
        }
        // The legacy BIOS build is no PE file: it goes in as shipped.
        #expect(
            FileManager.default.contents(atPath: root + "/undionly.kpxe")
                == FileManager.default.contents(atPath: "/usr/lib/ipxe/undionly.kpxe"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/lib/ipxe/ipxe.efi")))
    func aTruncatedOrForeignFileIsNotSigned() throws {
        let signer = try #require(try keys("firmware-signing-bad").imageSigner)
        let image = [UInt8](try #require(FileManager.default.contents(atPath: "/usr/lib/ipxe/ipxe.efi")))
        for (name, bytes) in [
            ("truncated", Array(image.prefix(image.count / 2))), ("headers only", Array(image.prefix(512))),
            ("text", Array("#!ipxe\nchain http://example/\n".utf8)),
        ] {
            #expect(throws: AuthenticodeSigningError.self, "\(name)") { _ = try signer.sign(bytes, name: name) }
        }
        let root = try TestPaths.temporaryDirectory("tftp-root-bad")
        let fake = root.appendingPathComponent("fake.efi")
        try Data("not a PE file".utf8).write(to: fake)
        #expect(throws: AuthenticodeSigningError.self) {
            _ = try FirmwareFiles(files: ["ipxe.efi": fake.path]).install(
                into: root.appendingPathComponent("tftp").path, signingWith: signer)
        }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("tftp/ipxe.efi").path))
    }
}
