#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WardenCrypto

/// One event an image's boot is expected to measure: its SHA-256 digest (lowercase hex) and
/// what it is.
public struct BootMeasurement: Sendable, Equatable, Codable {
    public let what: String
    public let sha256: String

    public init(what: String, sha256: String) {
        self.what = what
        self.sha256 = sha256
    }
}

/// A boot image in the catalogue: a Unified Kernel Image, stored under its SHA-256.
public struct ImageRecord: Sendable, Codable, Equatable {
    public let name: String
    /// Hex SHA-256 of the file: its name in the image store.
    public let sha256: String
    public let sha384: String
    /// Hex Authenticode SHA-256: what the firmware measures into PCR 4 when it loads it.
    public let authenticodeSHA256: String
    /// Hex SHA-256 of its kernel and initrd sections.
    public let linuxSHA256: String
    public let initrdSHA256: String
    /// The command line built in, which the boot script passes exactly.
    public let commandLine: String
    public let size: Int
    /// Hex Authenticode SHA-256 of the kernel section: the stub loads it as an EFI image, so
    /// the firmware measures it into PCR 4 after the UKI. Nil for images imported before
    /// Warden recorded it.
    public let kernelAuthenticodeSHA256: String?
    /// The events the stub extends into PCR 11, in order; nil for images imported before
    /// Warden recorded them.
    public let sectionMeasurements: [BootMeasurement]?
    public let createdAt: Date
    /// Machines assigned this image.
    public let machines: [String]
    /// The image as signed for Secure Boot with the rack's db key, which UEFI machines are
    /// served instead when there is one (legacy BIOS ones get the unsigned image's sections): its own SHA-256 (its name in the image store), Authenticode
    /// SHA-256 (what the firmware measures into PCR 4 when it loads it) and size.
    public var secureBootSigned: SignedImage?

    /// An image Authenticode-signed for Secure Boot: a file of its own.
    public struct SignedImage: Sendable, Codable, Equatable {
        public let sha256: String
        public let authenticodeSHA256: String
        public let size: Int

        public init(sha256: [UInt8], authenticodeSHA256: [UInt8], size: Int) {
            self.sha256 = Hex.encode(sha256)
            self.authenticodeSHA256 = Hex.encode(authenticodeSHA256)
            self.size = size
        }
    }

    /// SHA-256 of the file machines are served: the signed one when there is one.
    public var servedSHA256: String { secureBootSigned?.sha256 ?? sha256 }

    /// Authenticode SHA-256 of the file machines are served.
    public var servedAuthenticodeSHA256: String { secureBootSigned?.authenticodeSHA256 ?? authenticodeSHA256 }

    public init(
        name: String, sha256: [UInt8], sha384: [UInt8], authenticodeSHA256: [UInt8], linuxSHA256: [UInt8],
        initrdSHA256: [UInt8],
        commandLine: String, size: Int, kernelAuthenticodeSHA256: [UInt8]?, sectionMeasurements: [BootMeasurement]?,
        createdAt: Date = Date(), machines: [String] = [], secureBootSigned: SignedImage? = nil
    ) {
        self.name = name
        self.sha256 = Hex.encode(sha256)
        self.sha384 = Hex.encode(sha384)
        self.authenticodeSHA256 = Hex.encode(authenticodeSHA256)
        self.linuxSHA256 = Hex.encode(linuxSHA256)
        self.initrdSHA256 = Hex.encode(initrdSHA256)
        self.commandLine = commandLine
        self.size = size
        self.kernelAuthenticodeSHA256 = kernelAuthenticodeSHA256.map(Hex.encode)
        self.sectionMeasurements = sectionMeasurements
        self.createdAt = createdAt
        self.machines = machines
        self.secureBootSigned = secureBootSigned
    }

    /// Why nothing says what booting this image measures (``sectionMeasurements`` is nil).
    public var unmeasuredReason: String {
        "image \(name) has no recorded measurements: added by an earlier Warden, it could not be completed when warden serve started (its log says why)"
    }
}
