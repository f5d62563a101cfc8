import Foundation
import Testing
import TestSupport

/// `warden-agent attest --unlock`: a blank device is formatted as LUKS2 with the released
/// key; a device that already has a LUKS header is never formatted again. Opening needs
/// device-mapper, which this sandbox lacks: there the agent reports that, and the header is
/// checked with `cryptsetup open --test-passphrase` instead.
@Suite struct UnlockTests {
    @Test func aBlankDeviceGetsTheReleasedKeyAndAnExistingHeaderIsNeverReplaced() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        try rig.enroll(tpm, as: "node-1", extra: ["--cluster", "rack-a", "--role", "server"])
        let device = rig.file("disk.img")
        try tool("truncate", ["-s", "32M", device.path])
        let first = try rig.server.agent(
            "attest", tcti: tpm.tcti,
            ["--unlock", device.path, "--mountpoint", rig.file("mnt").path, "--name", "warden-test-\(getpid())"])
        // libdevmapper creates /dev/mapper/control even where the kernel has no dm: ask the kernel.
        let hasDeviceMapper = ((try? String(contentsOfFile: "/proc/misc", encoding: .utf8)) ?? "").contains(
            "device-mapper")
        if hasDeviceMapper {
            try rig.expectSuccess(first)
            #expect(FileManager.default.fileExists(atPath: rig.file("mnt/etc/rancher/k3s/config.yaml").path))
            _ = try Command.run("umount", [rig.file("mnt").path])
            _ = try Command.run("cryptsetup", ["close", "warden-test-\(getpid())"])
        } else {
            #expect(first.status == 1 && first.stderr.contains("device-mapper"), "\(first.stderr)")
        }
        let uuid = try Command.run("cryptsetup", ["luksUUID", device.path]).stdout
        #expect(!uuid.isEmpty, "the blank device was not formatted")
        #expect(try Command.run("cryptsetup", ["luksDump", device.path]).stdout.contains("pbkdf2"))
        // The key released on the next attestation opens the header.
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("keys").path]))
        let key = rig.file("keys/disk.key").path
        try tool("cryptsetup", ["open", "--test-passphrase", "--key-file", key, device.path])
        // Unlocking again never formats again.
        _ = try rig.server.agent(
            "attest", tcti: tpm.tcti,
            ["--unlock", device.path, "--mountpoint", rig.file("mnt").path, "--name", "warden-test-\(getpid())"])
        if hasDeviceMapper {
            _ = try Command.run("umount", [rig.file("mnt").path])
            _ = try Command.run("cryptsetup", ["close", "warden-test-\(getpid())"])
        }
        #expect(try Command.run("cryptsetup", ["luksUUID", device.path]).stdout == uuid)

        // A device formatted with another key: refused, and left exactly as it was.
        let foreign = rig.file("foreign.img"), foreignKey = rig.file("foreign.key")
        try tool("truncate", ["-s", "32M", foreign.path])
        try tool("openssl", ["rand", "-out", foreignKey.path, "32"])
        try tool(
            "cryptsetup",
            [
                "luksFormat", "--type", "luks2", "--batch-mode", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations",
                "1000", "--key-file", foreignKey.path, foreign.path,
            ])
        let before = try TestPaths.bytes(foreign)
        let refused = try rig.server.agent(
            "attest", tcti: tpm.tcti, ["--unlock", foreign.path, "--mountpoint", rig.file("mnt2").path])
        #expect(refused.status == 1)
        #expect(try TestPaths.bytes(foreign) == before, "an existing LUKS device was modified")
    }

    private func tool(_ name: String, _ arguments: [String]) throws {
        let result = try Command.run(name, arguments)
        guard result.status == 0 else {
            throw CommandFailure("\(name) \(arguments.joined(separator: " ")): exit \(result.status): \(result.stderr)")
        }
    }
}
