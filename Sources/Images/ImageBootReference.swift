import Attestation
import Foundation
import WardenAPI
import WardenCrypto

extension ImageRecord {
    /// What booting this image through Warden measures, with `firmware` (the iPXE
    /// binaries Warden serves) among the applications PCR 4 may load; nil for an image
    /// imported before Warden recorded its section measurements.
    public func bootReference(firmware: [BootReference.Measurement]) -> BootReference.Image? {
        guard let sectionMeasurements else { return nil }
        // The file machines are served: signed for Secure Boot when there is one.
        let uki = BootReference.Measurement(
            what: secureBootSigned == nil ? "image \(name)" : "image \(name) (signed for Secure Boot)",
            sha256: servedAuthenticodeSHA256)
        let kernel = kernelAuthenticodeSHA256.map {
            BootReference.Measurement(what: "the kernel of image \(name)", sha256: $0)
        }
        return BootReference.Image(
            name: name, bootApplications: firmware + [uki] + (kernel.map { [$0] } ?? []), unifiedKernelImage: uki,
            pcr11: sectionMeasurements,
            pcr12: [
                BootReference.Measurement(
                    what: "the command line",
                    sha256: UKIMeasurements.commandLineEvent(
                        fileName: ImageFiles.name(sha256: Hex.decode(servedSHA256) ?? []), commandLine: commandLine))
            ])
    }
}

/// The EFI applications Warden serves for network boot (the iPXE binaries its firmware
/// manifest installs in the TFTP root), by Authenticode digest: what PCR 4 shows the
/// firmware loaded before the image. Other files someone put in the root are not allowed.
public enum ServedBootApplications {
    /// Each of `names` in `root` that is a PE file; others (BIOS iPXE) are skipped.
    public static func measurements(root: String, names: some Sequence<String>) -> [BootReference.Measurement] {
        names.sorted().compactMap { name in
            guard !name.contains("/"), let data = FileManager.default.contents(atPath: root + "/" + name),
                let digest = try? Authenticode.digest([UInt8](data))
            else { return nil }
            return BootReference.Measurement(what: "\(name) served by Warden", sha256: Hex.encode(digest))
        }
    }
}
