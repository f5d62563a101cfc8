import ImageBuilding
import WardenCrypto

/// The Authenticode digest of a PE image (Microsoft's "Windows Authenticode Portable
/// Executable Signature Format"): what UEFI firmware measures into PCR 4 for each EFI
/// application it loads. The headers are hashed without the CheckSum field and the
/// certificate-table entry, then each section's raw data in file order, then whatever
/// follows the sections except the certificate table.
public enum Authenticode {
    /// The digest of `bytes` with `algorithm` (SHA-256 for PCR 4's SHA-256 bank).
    public static func digest(_ bytes: [UInt8], algorithm: DigestAlgorithm = .sha256) throws(PEImage.ParseError)
        -> [UInt8]
    {
        let image = try PEImage(bytes)
        var hasher = Hasher(algorithm)
        let directory = image.certificateDirectoryOffset
        hasher.update(bytes[0..<image.checksumOffset])
        if let directory {
            hasher.update(bytes[(image.checksumOffset + 4)..<directory])
            hasher.update(bytes[(directory + 8)..<image.sizeOfHeaders])
        } else {
            hasher.update(bytes[(image.checksumOffset + 4)..<image.sizeOfHeaders])
        }
        var hashed = image.sizeOfHeaders
        for section in image.sections.filter({ $0.rawSize > 0 }).sorted(by: { $0.rawOffset < $1.rawOffset }) {
            hasher.update(bytes[section.rawOffset..<(section.rawOffset + section.rawSize)])
            hashed += section.rawSize
        }
        let end = bytes.count - image.certificateTable.size
        if hashed < end { hasher.update(bytes[hashed..<end]) }
        return hasher.finalize()
    }
}
