import Attestation
import ImageBuilding
import Octets
import WardenCrypto

/// What systemd's EFI stub (version 252, Debian's) measures when it boots a Unified Kernel
/// Image, predicted from the file: into PCR 11 each known section present, in the stub's
/// fixed order, as two events (the name with its NUL, then the section's bytes as loaded,
/// `VirtualSize` long); into PCR 12 the command line it was passed, as UTF-16LE with its
/// NUL; and into PCR 4, through the firmware, the kernel it loads as an EFI image.
public enum UKIMeasurements {
    /// The sections the stub measures, in the order it measures them (`.pcrsig` is not:
    /// it signs the others).
    static let measuredSections = [".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"]

    /// The PCR 11 events of `image` (whose bytes are `bytes`).
    public static func sectionEvents(of image: PEImage, _ bytes: [UInt8]) -> [BootReference.Measurement] {
        measuredSections.flatMap { name -> [BootReference.Measurement] in
            guard let section = image.section(name), section.virtualSize > 0 else { return [] }
            var contents = Hasher(.sha256)
            contents.update(bytes[section.storedContents])
            // Loaded memory past the stored bytes is zero; hashed in pieces, since the
            // uploader chose VirtualSize.
            var zeros = section.virtualSize - section.storedContents.count
            let piece = [UInt8](repeating: 0, count: min(zeros, 1 << 20))
            while zeros > 0 {
                contents.update(piece[..<min(zeros, piece.count)])
                zeros -= min(zeros, piece.count)
            }
            return [
                BootReference.Measurement(
                    what: "section name \(name)",
                    sha256: Hex.encode(DigestAlgorithm.sha256.hash(Array(name.utf8) + [0]))),
                BootReference.Measurement(what: "section \(name)", sha256: Hex.encode(contents.finalize())),
            ]
        }
    }

    /// The PCR 12 event of a boot by iPXE's `kernel URL ARGS`: iPXE passes the URL's last
    /// path component, a space and the arguments as the image's load options.
    public static func commandLineEvent(fileName: String, commandLine: String) -> String {
        let options = commandLine.isEmpty ? fileName : fileName + " " + commandLine
        let utf16: [UInt8] = options.utf16.flatMap { LittleEndian.bytes($0) } + [0, 0]
        return Hex.encode(DigestAlgorithm.sha256.hash(utf16))
    }
}
