#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import WardenAPI

/// What the agent does with an opened release: write the disk key and the K3s
/// configuration to a folder, or unlock (formatting only a blank device) a LUKS2 volume
/// with the key and write the configuration onto it.
public enum ReleaseOutputs {
    /// Writes `DIR/disk.key` (the 32 raw bytes) and `DIR/k3s-config.yaml`, both 0600.
    public static func write(_ payload: ReleasePayload, to folder: String) throws(AgentError) {
        let key = try diskKey(payload)
        mkdir(folder, 0o700)
        try writePrivate(key, to: folder + "/disk.key")
        if let join = payload.join { try writePrivate(Array(join.k3sConfigYAML.utf8), to: folder + "/k3s-config.yaml") }
    }

    /// Opens `device` as `name` with the disk key, formatting it as LUKS2 first only when it
    /// carries no LUKS header; then mounts it at `mountpoint` and writes
    /// `etc/rancher/k3s/config.yaml` there.
    public static func unlock(_ payload: ReleasePayload, device: String, name: String, mountpoint: String)
        throws(AgentError)
    {
        let key = try diskKey(payload)
        let blank = ChildProcess.run("cryptsetup", ["isLuks", device]) != 0
        if blank {
            // A random 32-byte key needs no stretching: PBKDF2 with few iterations keeps
            // unlocking fast even in an emulated machine.
            let status = ChildProcess.run(
                "cryptsetup",
                [
                    "luksFormat", "--type", "luks2", "--batch-mode", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations",
                    "1000",
                    "--key-file", "-", device,
                ], input: key)
            guard status == 0 else { throw .output("cryptsetup luksFormat \(device) failed (status \(status))") }
        }
        let opened = ChildProcess.run(
            "cryptsetup", ["open", "--type", "luks2", "--key-file", "-", device, name], input: key)
        guard opened == 0 else {
            throw .output(
                "cryptsetup open \(device) failed (status \(opened)): the released key does not open it, or device-mapper is missing"
            )
        }
        let mapped = "/dev/mapper/" + name
        if blank {
            let made = ChildProcess.run("mkfs.ext4", ["-q", "-L", name, mapped])
            guard made == 0 else { throw .output("mkfs.ext4 \(mapped) failed (status \(made))") }
        }
        mkdir(mountpoint, 0o755)
        let mounted = ChildProcess.run("mount", [mapped, mountpoint])
        guard mounted == 0 else { throw .output("mount \(mapped) \(mountpoint) failed (status \(mounted))") }
        if let join = payload.join {
            for folder in ["/etc", "/etc/rancher", "/etc/rancher/k3s"] { mkdir(mountpoint + folder, 0o755) }
            try writePrivate(Array(join.k3sConfigYAML.utf8), to: mountpoint + "/etc/rancher/k3s/config.yaml")
        }
    }

    private static func diskKey(_ payload: ReleasePayload) throws(AgentError) -> [UInt8] {
        guard payload.diskKey.count == 32 else { throw .badRelease("the disk key is not 32 bytes") }
        return payload.diskKey.revealedBytes
    }

    /// Writes through a 0600 temporary file renamed into place, so a reader never sees half a file.
    static func writePrivate(_ bytes: [UInt8], to path: String) throws(AgentError) {
        let temporary = path + ".tmp"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw .output("cannot create \(temporary)") }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .output("cannot write \(path)")
        }
    }
}
