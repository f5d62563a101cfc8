import Boot
import Foundation
import ImageBuilding
import Images
import Store
import Testing
import TestSupport
import WardenCrypto

/// What booting an image measures, predicted by Warden and checked against real tools:
/// PCR 11 against systemd's own `systemd-measure`, PCR 12 against iconv and sha256sum, the
/// kernel's Authenticode digest against pesign; and the kernel and initrd sections served
/// to legacy BIOS machines, byte for byte and signed.
@Suite struct UKIMeasurementTests {
    static let systemdMeasure = "/usr/lib/systemd/systemd-measure"

    /// Extends `digests` (hex) into a zero SHA-256 PCR.
    static func replay(_ digests: [String]) -> String {
        Hex.encode(
            digests.reduce([UInt8](repeating: 0, count: 32)) { pcr, digest in
                DigestAlgorithm.sha256.hash(pcr + (Hex.decode(digest) ?? []))
            })
    }

    @Test func predictedPCR11IsWhatSystemdMeasureCalculates() throws {
        let folder = try TestPaths.temporaryDirectory("uki-measure")
        let commandLine = "console=ttyS0 panic=-1"
        let uki = try UKITests.buildUKI(in: folder, commandLine: commandLine)
        let bytes = try TestPaths.bytes(uki)
        let events = UKIMeasurements.sectionEvents(of: try PEImage(bytes), bytes)
        #expect(
            events.map(\.what)
                == [".linux", ".osrel", ".cmdline", ".initrd"].flatMap { ["section name \($0)", "section \($0)"] })

        try Data(commandLine.utf8).write(to: folder.appendingPathComponent("cmdline"))
        try Data("ID=warden-test\n".utf8).write(to: folder.appendingPathComponent("os-release"))
        let measured = try Command.run(
            Self.systemdMeasure,
            [
                "calculate", "--linux=vmlinuz", "--osrel=os-release", "--cmdline=cmdline", "--initrd=initrd.img",
                "--bank=sha256", "--phase=",
            ], in: folder)
        #expect(measured.status == 0, "\(measured.stderr)")
        #expect(
            measured.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "11:sha256="
                + Self.replay(events.map(\.sha256)))
    }

    @Test func predictedPCR12IsTheLoadOptionsInUTF16WithTheirNUL() throws {
        let options = "0123abcd.efi console=ttyS0,115200 panic=-1"
        let shell = try Command.run(
            "sh",
            [
                "-c", "{ printf '%s' \"$1\" | iconv -f UTF-8 -t UTF-16LE; printf '\\000\\000'; } | sha256sum", "sh",
                options,
            ])
        #expect(shell.status == 0, "\(shell.stderr)")
        let expected = String(shell.stdout.prefix(64))
        #expect(
            UKIMeasurements.commandLineEvent(fileName: "0123abcd.efi", commandLine: "console=ttyS0,115200 panic=-1")
                == expected)
    }

    @Test func theKernelsAuthenticodeDigestIsRecordedWhenItIsAPEImage() throws {
        let rig = try ImageCatalogueTests.Rig()
        let plain = try rig.catalogue.add(name: "plain", upload: try rig.upload(), actor: "test")
        #expect(plain.kernelAuthenticodeSHA256 == nil, "made-up kernel bytes are no PE image")
        #expect(plain.sectionMeasurements?.count == 8)

        // A PE "kernel": the stub itself, which is what the firmware sees when the stub loads it.
        let build = rig.folder.appendingPathComponent("pe-kernel")
        try FileManager.default.createDirectory(at: build, withIntermediateDirectories: true)
        let initrd = build.appendingPathComponent("initrd.img"), uki = build.appendingPathComponent("uki.efi")
        try Data(repeating: 7, count: 4_096).write(to: initrd)
        try UKIBuilder().build(
            kernel: UKIBuilder.debianStub, initrd: initrd.path, commandLine: "quiet", osRelease: "ID=x\n",
            output: uki.path)
        let record = try rig.catalogue.add(name: "pe", upload: uki.path, actor: "test")
        #expect(record.kernelAuthenticodeSHA256 == (try UKITests.pesign(UKIBuilder.debianStub)))
        let shown = try rig.store.image(named: "pe")
        #expect(
            shown.kernelAuthenticodeSHA256 == record.kernelAuthenticodeSHA256
                && shown.sectionMeasurements == record.sectionMeasurements)
    }

    /// An image from before Warden recorded measurements and signed sections (made so by
    /// clearing them with Python's sqlite3 and deleting the signatures) is completed, once.
    @Test func imagesFromAnEarlierWardenAreCompleted() throws {
        let rig = try ImageCatalogueTests.Rig()
        let record = try rig.catalogue.add(name: "old", upload: try rig.upload(), actor: "test")
        let cleared = try Command.run(
            "python3",
            [
                "-c",
                """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1])
                db.execute("UPDATE image SET sectionMeasurements = NULL, kernelAuthenticodeSHA256 = NULL")
                db.commit()
                """, rig.folder.appendingPathComponent("warden.sqlite").path,
            ])
        #expect(cleared.status == 0, "\(cleared.stderr)")
        let stem = rig.catalogue.files.path + "/" + record.sha256
        for served in ["linux", "initrd"] { try FileManager.default.removeItem(atPath: stem + ".\(served).sig") }
        #expect(try rig.store.image(named: "old").sectionMeasurements == nil)

        #expect(rig.catalogue.completeRecords(actor: "test").count == 1)
        #expect(try rig.store.image(named: "old").sectionMeasurements == record.sectionMeasurements)
        for served in ["linux", "initrd"] { #expect(FileManager.default.fileExists(atPath: stem + ".\(served).sig")) }
        #expect(rig.catalogue.completeRecords(actor: "test").isEmpty, "nothing left to complete")
        #expect(
            try rig.store.auditRecords(subjectPrefix: "image/old").map(\.action) == ["image-added", "image-measured"])
    }

    @Test func legacyMachinesAreServedTheSectionsSignedAndChecked() throws {
        let rig = try ImageCatalogueTests.Rig()
        let upload = try rig.upload()
        let folder = URL(fileURLWithPath: upload).deletingLastPathComponent()
        let record = try rig.catalogue.add(name: "node", upload: upload, actor: "test")
        for (served, original) in [("linux", "vmlinuz"), ("initrd", "initrd.img")] {
            let name = record.sha256 + "." + served
            let part = try rig.catalogue.files.resolve(name)
            let handle = try #require(FileHandle(forReadingAtPath: part.path))
            try handle.seek(toOffset: UInt64(part.offset))
            let bytes = try #require(try handle.read(upToCount: part.size))
            try handle.close()
            let expected = try TestPaths.bytes(folder.appendingPathComponent(original))
            #expect([UInt8](bytes) == expected, "\(served) differs from the file it was built from")
            let signature = rig.catalogue.files.path + "/" + name + ".sig"
            let verified = try Command.run(
                "openssl",
                [
                    "cms", "-verify", "-binary", "-inform", "DER", "-in", signature,
                    "-content", folder.appendingPathComponent(original).path,
                    "-CAfile", rig.folder.appendingPathComponent("sign.pem").path, "-purpose", "any", "-out",
                    "/dev/null",
                ])
            #expect(verified.status == 0, "\(verified.stderr)")
        }
        #expect(throws: BootFileRoot.Refusal.self) {
            _ = try rig.catalogue.files.resolve(String(repeating: "0", count: 64) + ".linux")
        }
        try rig.catalogue.remove(name: "node", actor: "test")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: rig.catalogue.files.path).isEmpty,
            "removal left files behind")
    }
}
