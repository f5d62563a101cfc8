import Foundation

/// Authenticode signatures with a Secure Boot db key, the ones UEFI firmware checks before it
/// starts a file: made by Debian's `sbsigntool` (`sbsign`), which handles the section layouts
/// of iPXE's EFI builds (and warns, without failing, about gaps between sections).
public struct AuthenticodeSigner: Sendable {
    /// Where `sbsign` is installed by Debian's `sbsigntool`.
    static let sbsign = "/usr/bin/sbsign"

    /// The db certificate (PEM) the signatures name.
    public let certificatePath: String
    /// Its private key (PEM).
    public let keyPath: String

    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// `image` (a PE file, named `name` in errors) with an Authenticode signature appended.
    /// What does not parse as a PE image is refused before anything runs.
    public func sign(_ image: [UInt8], name: String) throws(AuthenticodeSigningError) -> [UInt8] {
        do { _ = try PEImage(image) } catch { throw .notPE(name: name, reason: error.description) }
        var template = Array((NSTemporaryDirectory() + "/warden-sign-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        guard let folder = created else {
            throw .failed(name: name, reason: "no private temporary folder: \(String(cString: strerror(errno)))")
        }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let input = folder + "/unsigned.efi"
        let output = folder + "/signed.efi"
        do {
            try Data(image).write(to: URL(fileURLWithPath: input))
            _ = try ImageTool.run(
                Self.sbsign, ["--key", keyPath, "--cert", certificatePath, "--output", output, input],
                hint: "apt-get install sbsigntool")
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        } catch let failure as ImageTool.Failure {
            throw .failed(name: name, reason: failure.description)
        } catch {
            throw .failed(name: name, reason: error.localizedDescription)
        }
    }
}

/// Why a file was not signed.
public enum AuthenticodeSigningError: Error, Equatable, CustomStringConvertible {
    case notPE(name: String, reason: String)
    case failed(name: String, reason: String)

    public var description: String {
        switch self {
        case .notPE(let name, let reason): "\(name) is not a PE image, so it is not signed: \(reason)"
        case .failed(let name, let reason): "signing \(name) failed: \(reason)"
        }
    }
}
