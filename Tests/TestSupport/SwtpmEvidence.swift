import Foundation

/// Evidence made at test time by a real software TPM (`swtpm`) and `tpm2-tools`, by
/// `Tests/Scripts/make-swtpm-evidence.sh`, once per test process.
public enum SwtpmEvidence {
    /// The folder holding the evidence (see its README.txt for the files).
    public static func directory() throws -> URL {
        try generated.get()
    }

    /// A file of the evidence.
    public static func bytes(_ name: String) throws -> [UInt8] {
        try TestPaths.bytes(directory().appendingPathComponent(name))
    }

    /// A nonce file's hex text.
    public static func nonceHex(_ quote: String) throws -> String {
        String(decoding: try bytes("\(quote).nonce"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static let generated: Result<URL, Error> = Result {
        let folder = try TestPaths.temporaryDirectory("swtpm-evidence")
        let script = TestPaths.scripts.appendingPathComponent("make-swtpm-evidence.sh").path
        let result = try Command.run("bash", [script, folder.path])
        guard result.status == 0 else { throw EvidenceError(output: result.stderr) }
        return folder
    }
}

/// The evidence script failed.
public struct EvidenceError: Error, CustomStringConvertible {
    public let output: String
    public var description: String { "make-swtpm-evidence.sh failed:\n\(output)" }
}
