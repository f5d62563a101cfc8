import Foundation

extension OutputTree {
    /// Pretty JSON with sorted keys, as Foundation's pretty printer writes it (two spaces,
    /// `"key" : value`), nulls kept.
    func json(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let text): return text
        case .string(let text): return Self.quoted(text)
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { inner + $0.json(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let fields):
            guard !fields.isEmpty else { return "{}" }
            return "{\n"
                + fields.sorted { $0.key < $1.key }.map {
                    inner + Self.quoted($0.key) + " : " + $0.value.json(indent: inner)
                }
                .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    /// YAML of the same fields and order: block mappings and sequences, strings double-quoted.
    func yaml() -> String { lines(indent: "").joined(separator: "\n") }

    private func lines(indent: String) -> [String] {
        switch self {
        case .array(let items) where !items.isEmpty:
            return items.flatMap { item -> [String] in
                let nested = item.lines(indent: indent + "  ")
                guard item.isCollection, let first = nested.first else { return [indent + "- " + item.scalar] }
                return [indent + "- " + first.dropFirst(indent.count + 2)] + nested.dropFirst()
            }
        case .object(let fields) where !fields.isEmpty:
            return fields.sorted { $0.key < $1.key }.flatMap { key, value -> [String] in
                let name = Self.isPlainKey(key) ? key : Self.quoted(key)
                guard value.isCollection else { return [indent + name + ": " + value.scalar] }
                return [indent + name + ":"] + value.lines(indent: indent + "  ")
            }
        default:
            return [indent + scalar]
        }
    }

    /// Whether `key` reads back as the same string unquoted: letters, digits, `_` and `-`,
    /// starting with a letter, and none of YAML's words for true, false or null.
    private static func isPlainKey(_ key: String) -> Bool {
        guard let first = key.first, first.isLetter,
            key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else { return false }
        return !["true", "false", "yes", "no", "on", "off", "null", "y", "n"].contains(key.lowercased())
    }

    /// Whether it is a non-empty mapping or sequence, written on lines of its own.
    private var isCollection: Bool {
        switch self {
        case .array(let items): !items.isEmpty
        case .object(let fields): !fields.isEmpty
        default: false
        }
    }

    /// A leaf (or an empty collection) on one line.
    private var scalar: String {
        switch self {
        case .array: "[]"
        case .object: "{}"
        default: json()
        }
    }

    /// `text` as a JSON string literal, which YAML reads as a double-quoted scalar too.
    private static func quoted(_ text: String) -> String {
        let data = try? JSONSerialization.data(
            withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}
