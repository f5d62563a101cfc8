import Foundation
import ImageBuilding
import Images
import Testing
import TestSupport

/// The agent overlay is complete: unpacked alone into an empty root, warden-agent runs
/// there (chroot), stripped, with its CA and server URL beside it; appended to an initrd, it
/// starts on a 4-byte boundary after it, gzip-compressed.
@Suite struct AgentOverlayTests {
    @Test func theAgentRunsFromTheOverlayAlone() throws {
        let folder = try TestPaths.temporaryDirectory("overlay")
        let ca = folder.appendingPathComponent("ca.pem")
        try Data("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n".utf8).write(to: ca)
        let overlay = AgentOverlay(
            agent: TestPaths.agentBinary.path, serverCA: ca.path,
            serverURLs: ["https://10.213.0.1:8443", "https://10.213.0.2:8443"])
        let archive = folder.appendingPathComponent("overlay.cpio.gz")
        try overlay.write(to: archive.path)
        let root = folder.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let unpacked = try Command.run("/bin/sh", ["-c", "gzip -dc < '\(archive.path)' | cpio -idm --quiet"], in: root)
        #expect(unpacked.status == 0, "\(unpacked.stderr)")
        #expect(
            try String(contentsOf: root.appendingPathComponent("etc/warden/server"), encoding: .utf8)
                == "https://10.213.0.1:8443\nhttps://10.213.0.2:8443\n")
        #expect(
            FileManager.default.fileExists(
                atPath: root.appendingPathComponent("lib/x86_64-linux-gnu/libtss2-tcti-device.so.0").path))
        // Only what running needs: no debug sections, no symbol table, no Swift module.
        let sections = try Command.run(
            "readelf", ["-S", "-W", root.appendingPathComponent("usr/bin/warden-agent").path])
        #expect(sections.status == 0 && sections.stdout.contains(" .text "), "\(sections.stderr)")
        for unneeded in [".debug_info", ".symtab", ".swift_ast"] {
            #expect(!sections.stdout.contains(" \(unneeded) "), "the agent still has \(unneeded)")
        }
        // A node's init mounts /proc before it runs the agent; so does this test, since
        // libdispatch's worker-thread monitor reads /proc and stops the process without it.
        let proc = root.appendingPathComponent("proc")
        try FileManager.default.createDirectory(at: proc, withIntermediateDirectories: true)
        #expect(try Command.run("/bin/mount", ["-t", "proc", "proc", proc.path]).status == 0)
        defer { _ = try? Command.run("/bin/umount", [proc.path]) }
        let ran = try Command.run("/usr/sbin/chroot", [root.path, "/usr/bin/warden-agent", "--help"])
        #expect(ran.status == 0 && ran.stdout.contains("USAGE"), "status \(ran.status): \(ran.stdout)\(ran.stderr)")
    }

    @Test func anAppendedOverlayStartsOnAFourByteBoundary() throws {
        let folder = try TestPaths.temporaryDirectory("overlay-append")
        let ca = folder.appendingPathComponent("ca.pem")
        try Data("ca".utf8).write(to: ca)
        let initrd = folder.appendingPathComponent("initrd")
        try Data([1, 2, 3, 4, 5]).write(to: initrd)
        let overlay = AgentOverlay(
            agent: TestPaths.agentBinary.path, serverCA: ca.path, serverURLs: ["https://warden:8443"])
        let output = folder.appendingPathComponent("combined")
        try overlay.append(to: initrd.path, output: output.path)
        let bytes = try TestPaths.bytes(output)
        #expect(Array(bytes.prefix(8)) == [1, 2, 3, 4, 5, 0, 0, 0])
        #expect(Array(bytes[8..<10]) == [0x1f, 0x8b], "a gzip header follows the padding")
        #expect(throws: AgentOverlay.Failure.self) {
            try AgentOverlay(agent: ca.path, serverCA: ca.path, serverURLs: ["x"]).write(
                to: folder.appendingPathComponent("bad").path)
        }
    }
}
