import Foundation
import ImageBuilding
import Yams

/// `Firmware/firmware.yaml`: the files of the TFTP root and where each comes from.
public struct FirmwareFiles: Sendable, Equatable {
    /// Name in the root → source path.
    public let files: [String: String]

    private struct File: Decodable {
        let files: [String: String]
    }

    public init(files: [String: String]) { self.files = files }

    /// Reads the manifest at `path`.
    public init(path: String) throws(FirmwareManifestError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FirmwareManifestError(path: path, reason: "does not exist")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw FirmwareManifestError(path: path, reason: "cannot be read as UTF-8 text")
        }
        do { files = try YAMLDecoder().decode(File.self, from: text).files } catch {
            throw FirmwareManifestError(path: path, reason: "is not a manifest (files: NAME: SOURCE): \(error)")
        }
    }

    /// The manifest of an empty `firmware` setting: the iPXE builds of Debian's `ipxe`
    /// package where it installs them (what `Firmware/firmware.yaml` writes out).
    public static let debianIPXE = FirmwareFiles(files: [
        "ipxe.efi": "/usr/lib/ipxe/ipxe.efi", "snponly.efi": "/usr/lib/ipxe/snponly.efi",
        "undionly.kpxe": "/usr/lib/ipxe/undionly.kpxe",
    ])

    /// The manifest `configuration` names: its `firmware` file, or Debian's package when empty.
    public init(_ configuration: WardenConfiguration) throws(FirmwareManifestError) {
        if configuration.firmware.isEmpty {
            self = Self.debianIPXE
        } else {
            try self.init(path: configuration.firmware)
        }
    }

    /// Copies every source into `root` (created if needed), replacing older copies; with
    /// `signer`, each EFI file (`.efi`) goes in signed, so that firmware enforcing Secure
    /// Boot under the rack's db starts it. Returns the sources that could not be read, which
    /// are skipped; a file that does not sign stops the install.
    public func install(into root: String, signingWith signer: AuthenticodeSigner? = nil) throws -> [String] {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var missing: [String] = []
        for (name, source) in files.sorted(by: { $0.key < $1.key }) {
            guard !name.contains("/"), !name.hasPrefix("."), let contents = FileManager.default.contents(atPath: source)
            else {
                missing.append(source)
                continue
            }
            let target = root + "/" + name
            if let signer, name.lowercased().hasSuffix(".efi") {
                let signed = try signer.sign([UInt8](contents), name: source)
                try Data(signed).write(to: URL(fileURLWithPath: target), options: .atomic)
                continue
            }
            if FileManager.default.contents(atPath: target) == contents { continue }
            try contents.write(to: URL(fileURLWithPath: target), options: .atomic)
        }
        return missing
    }
}

/// A firmware manifest that cannot be used.
public struct FirmwareManifestError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String {
        "the firmware manifest \(path) \(reason): set firmware (WARDEN_FIRMWARE) to a manifest, or leave it empty for Debian's ipxe package"
    }
}
