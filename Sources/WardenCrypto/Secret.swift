/// A secret value: a disk key, a K3s join token. Its `description`, `debugDescription` and
/// mirror never show the content, so a secret interpolated into a log line, an error or a
/// test's failure message prints as `<secret>`; two secrets compare in constant time.
/// The content is reached only by name: ``revealedBytes`` or ``revealedText``. In JSON a
/// secret is its text (a token); a binary secret (a key) is encoded where it is used.
public struct Secret: Sendable, Equatable, Codable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let bytes: [UInt8]

    /// A secret holding `bytes` (a key).
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A secret holding `text`'s UTF-8 (a token).
    public init(text: String) {
        self.bytes = Array(text.utf8)
    }

    /// The secret's bytes, for the one place that must use them (sealing, a release).
    public var revealedBytes: [UInt8] { bytes }

    /// The secret as UTF-8 text (for a token), with invalid sequences replaced.
    public var revealedText: String { String(decoding: bytes, as: UTF8.self) }

    /// How many bytes the secret holds: not itself secret (keys have fixed lengths).
    public var count: Int { bytes.count }

    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    public init(from decoder: any Decoder) throws {
        self.init(text: try decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes the secret as its text; a secret that is not UTF-8 text is refused rather than
    /// written lossily.
    public func encode(to encoder: any Encoder) throws {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw EncodingError.invalidValue(
                self, .init(codingPath: encoder.codingPath, debugDescription: "a binary secret has no text form"))
        }
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    /// Equal when the lengths and the bytes are; the bytes are compared in constant time.
    public static func == (lhs: Secret, rhs: Secret) -> Bool {
        ConstantTime.equals(lhs.bytes, rhs.bytes)
    }
}
