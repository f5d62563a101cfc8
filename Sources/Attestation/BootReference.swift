import WardenAPI

/// What Warden itself knows about a machine's boot when it judges its quote: the values the
/// machine's image in the catalogue makes it measure, and whether the boot measured its
/// kernel at all. Kept with the attestation's evidence, so that an auditor re-judges the
/// verdict against exactly what the server compared.
public struct BootReference: Sendable, Equatable, Codable {
    /// One expected measurement: its SHA-256 digest (lowercase hex) and what it is.
    public typealias Measurement = BootMeasurement

    /// What booting one catalogue image measures, in the SHA-256 bank.
    public struct Image: Sendable, Equatable, Codable {
        /// The image's name in the catalogue.
        public let name: String
        /// Authenticode digests PCR 4's `EV_EFI_BOOT_SERVICES_APPLICATION` events may hold:
        /// the iPXE binaries Warden serves, the UKI and the kernel systemd's stub loads.
        public let bootApplications: [Measurement]
        /// The UKI's Authenticode digest: PCR 4 must show it loaded.
        public let unifiedKernelImage: Measurement
        /// The events systemd's stub extends into PCR 11 (each section's name, then its bytes).
        public let pcr11: [Measurement]
        /// The event it extends into PCR 12: the command line iPXE passes.
        public let pcr12: [Measurement]

        public init(
            name: String, bootApplications: [Measurement], unifiedKernelImage: Measurement, pcr11: [Measurement],
            pcr12: [Measurement]
        ) {
            self.name = name
            self.bootApplications = bootApplications
            self.unifiedKernelImage = unifiedKernelImage
            self.pcr11 = pcr11
            self.pcr12 = pcr12
        }
    }

    /// The machine's image, when it has one.
    public var image: Image?
    /// Why nothing measured this boot's kernel (a legacy BIOS boot), when that is so.
    public var unmeasured: String?

    public init(image: Image? = nil, unmeasured: String? = nil) {
        self.image = image
        self.unmeasured = unmeasured
    }
}

extension BootReference {
    /// The reference as stable JSON, as it is kept with the evidence.
    public var json: [UInt8] { KeptJSON.encode(self) }

    /// Reads a reference kept with the evidence.
    public init(json: [UInt8]) throws(PolicyError) {
        self = try KeptJSON.decode(Self.self, json, what: "the boot reference")
    }
}
