import Foundation
import Yams

/// `Firmware/firmware.yaml`: the files of the TFTP root and where each comes from.
public struct FirmwareFiles: Sendable, Equatable {
    /// Name in the root → source path.
    public let files: [String: String]

    private struct File: Decodable {
        let files: [String: String]
    }

    /// Reads the manifest at `path`.
    public init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        files = try YAMLDecoder().decode(File.self, from: text).files
    }

    /// Copies every source into `root` (created if needed), replacing older copies;
    /// returns the sources that could not be read, which are skipped.
    public func install(into root: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var missing: [String] = []
        for (name, source) in files.sorted(by: { $0.key < $1.key }) {
            guard !name.contains("/"), !name.hasPrefix("."), let contents = FileManager.default.contents(atPath: source)
            else {
                missing.append(source)
                continue
            }
            let target = root + "/" + name
            if FileManager.default.contents(atPath: target) == contents { continue }
            try contents.write(to: URL(fileURLWithPath: target), options: .atomic)
        }
        return missing
    }
}
