import Archive
import Foundation
import Testing
import TestSupport

/// Archives written through libarchive, read back by the system's own tar and cpio.
@Suite struct ArchiveWriterTests {
    @Test func tarGzipReadsBackWithTar() throws {
        let folder = try TestPaths.temporaryDirectory("archive")
        let path = folder.appendingPathComponent("bundle.tar.gz").path
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var writer = try ArchiveWriter(path: path, format: .tarGzip)
        try writer.addDirectory("evidence")
        try writer.addFile("evidence/quote.msg", contents: payload, mode: 0o600, modified: 1_700_000_000)
        try writer.addFile("empty", contents: [])
        try writer.addSymlink("latest", target: "evidence/quote.msg")
        try writer.finish()

        let listing = try Command.run("tar", ["-tzvf", path])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains("evidence/quote.msg") && listing.stdout.contains("-rw-------"))
        #expect(listing.stdout.contains("latest -> evidence/quote.msg"))
        let out = folder.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        #expect(try Command.run("tar", ["-xzf", path, "-C", out.path]).status == 0)
        #expect(try TestPaths.bytes(out.appendingPathComponent("evidence/quote.msg")) == payload)
    }

    @Test func gzippedCpioNewcReadsBackWithCpio() throws {
        let folder = try TestPaths.temporaryDirectory("archive")
        let path = folder.appendingPathComponent("overlay.cpio.gz").path
        var writer = try ArchiveWriter(path: path, format: .cpioNewcGzip)
        try writer.addDirectory("etc")
        try writer.addFile("etc/warden-ca.pem", contents: Array("-----BEGIN CERTIFICATE-----\n".utf8))
        try writer.addFile("init", contents: Array("#!/bin/sh\n".utf8), mode: 0o755)
        try writer.finish()

        let bytes = try TestPaths.bytes(URL(fileURLWithPath: path))
        #expect(bytes.starts(with: [0x1f, 0x8b]))  // gzip magic
        #expect(Array(bytes[4..<8]) == [0, 0, 0, 0], "no time in the gzip header: the same files, the same bytes")
        let listing = try Command.run("sh", ["-c", "gzip -dc < \"$0\" | cpio -itv", path])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains("etc/warden-ca.pem") && listing.stdout.contains("-rwxr-xr-x"))
    }

    @Test func unwritablePathIsAnError() {
        #expect(throws: ArchiveError.self) {
            _ = try ArchiveWriter(path: "/nonexistent-dir/x.tar.gz", format: .tarGzip)
        }
    }
}
