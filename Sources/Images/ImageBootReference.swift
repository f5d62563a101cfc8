import Attestation
import Foundation
import Store
import WardenCrypto

extension ImageRecord {
    /// What booting this image through Warden measures, with `firmware` (the iPXE
    /// binaries Warden serves) among the applications PCR 4 may load; nil for an image
    /// imported before Warden recorded its section measurements.
    public func bootReference(firmware: [BootReference.Measurement]) -> BootReference.Image? {
        guard let sectionMeasurements else { return nil }
        let uki = BootReference.Measurement(what: "image \(name)", sha256: authenticodeSHA256)
        let kernel = kernelAuthenticodeSHA256.map { BootReference.Measurement(what: "the kernel of image \(name)", sha256: $0) }
        return BootReference.Image(
            name: name, bootApplications: firmware + [uki] + (kernel.map { [$0] } ?? []), unifiedKernelImage: uki,
            pcr11: sectionMeasurements.map { BootReference.Measurement(what: $0.what, sha256: $0.sha256) },
            pcr12: [BootReference.Measurement(
                what: "the command line \"\(commandLine)\"",
                sha256: UKIMeasurements.commandLineEvent(fileName: ImageFiles.name(sha256: Hex.decode(sha256) ?? []), commandLine: commandLine))])
    }
}

/// The EFI applications Warden serves for network boot (the iPXE binaries of the TFTP
/// root), by Authenticode digest: what PCR 4 shows the firmware loaded before the image.
public enum ServedBootApplications {
    /// Every PE file directly in `root`, by name; other files (BIOS iPXE) are skipped.
    public static func measurements(root: String) -> [BootReference.Measurement] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: root + "/" + name), let digest = try? Authenticode.digest([UInt8](data)) else { return nil }
            return BootReference.Measurement(what: "\(name) served by Warden", sha256: Hex.encode(digest))
        }
    }
}
