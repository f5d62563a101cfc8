import Foundation
import Logging
import Octets
import Synchronization

/// How `warden serve` writes its log: one line per event on standard error, in logfmt
/// (`time=… level=info component=attestation msg="attestation passed" machine=node-1`) or
/// JSON (one object a line, the same keys). Every component's logger — Warden's, and those
/// of Hummingbird, PostgresNIO and ServiceLifecycle — writes through it.
public struct StructuredLogHandler: LogHandler {
    /// The line format (`logFormat`, `WARDEN_LOG_FORMAT`).
    public enum Format: String, Sendable, CaseIterable {
        case logfmt
        case json
    }

    /// The time a line is written, as ISO 8601 in UTC to the millisecond.
    static func now() -> String { UTCTimestamp.text(Date(), separator: "T", suffix: "Z") }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let component: String
    private let format: Format
    private let output: LogOutput

    /// A handler for the logger labelled `label` (`warden.attestation` names its component
    /// `attestation`; another library's label is its component as it is).
    public init(label: String, format: Format, level: Logger.Level, output: LogOutput = .standardError) {
        component = label.hasPrefix("warden.") ? String(label.dropFirst("warden.".count)) : label
        self.format = format
        logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("time", Self.now()),
            ("level", event.level.rawValue), ("component", component), ("msg", "\(event.message)"),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        fields += merged.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        output.write(format == .json ? Self.json(fields) : Self.logfmt(fields))
    }

    /// `key=value` pairs; a value with a space, a quote, an equals sign or a control
    /// character (or an empty one) is quoted, with `"`, `\` and control characters escaped.
    static func logfmt(_ fields: [(String, String)]) -> String {
        fields.map { key, value in
            key + "=" + (isPlain(value) ? value : "\"" + escaped(value) + "\"")
        }.joined(separator: " ")
    }

    /// Whether a logfmt value goes unquoted: not empty, and no space, quote, equals sign,
    /// backslash or control character. Printable ASCII, nearly every value, is told byte by
    /// byte; only other text asks Unicode which scalars are control characters.
    private static func isPlain(_ value: String) -> Bool {
        guard !value.isEmpty else { return false }
        if value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return !value.utf8.contains {
                $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\\")
            }
        }
        return !value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || isControl($0) }
    }

    /// Whether `scalar` is a control character (Unicode's general category Cc).
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? scalar.value < 0x20 || scalar.value == 0x7F : scalar.properties.generalCategory == .control
    }

    static func json(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\(escaped($0.0))\":\"\(escaped($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// `text` for the inside of a double-quoted string (logfmt's and JSON's alike).
    private static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if isControl(scalar) {
                    result += String(format: "\\u%04x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}

extension Logger {
    /// A logger that writes nothing: for services built outside `warden serve` (tests, tools).
    public static func silent(_ label: String) -> Logger { Logger(label: label) { _ in SwiftLogNoOpLogHandler() } }
}
