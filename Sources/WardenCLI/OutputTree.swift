import Foundation

/// An Encodable value as the CLI prints it: every field, an absent one as null (Swift's
/// synthesized encoding leaves absent optionals out, and JSONEncoder with them), dates as
/// ISO 8601 UTC with milliseconds, bytes as base64.
indirect enum OutputTree: Equatable {
    case null
    case bool(Bool)
    /// A number as it is written.
    case number(String)
    case string(String)
    case array([OutputTree])
    case object([String: OutputTree])

    /// `value`'s tree.
    static func of(_ value: some Encodable) throws -> OutputTree { try TreeEncoder.tree(of: value) }
}

/// Builds an ``OutputTree``: each container writes into the node its parent gave it.
private final class TreeEncoder: Encoder {
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    fileprivate(set) var tree = OutputTree.null

    private static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Encodes `value` into ``tree``, the leaves this printer writes its own way first.
    func box(_ value: some Encodable) throws {
        switch value {
        case let date as Date: tree = .string(date.formatted(Self.dateStyle))
        case let data as Data: tree = .string(data.base64EncodedString())
        case let url as URL: tree = .string(url.absoluteString)
        default: try value.encode(to: self)
        }
    }

    static func tree(of value: some Encodable) throws -> OutputTree {
        let encoder = TreeEncoder()
        try encoder.box(value)
        return encoder.tree
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = tree {} else { tree = .object([:]) }
        return KeyedEncodingContainer(Keyed<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = tree {} else { tree = .array([]) }
        return Unkeyed(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(encoder: self) }

    fileprivate func set(_ key: String, _ value: OutputTree) {
        guard case .object(var fields) = tree else { return }
        fields[key] = value
        tree = .object(fields)
    }

    fileprivate func append(_ value: OutputTree) {
        guard case .array(var items) = tree else { return }
        items.append(value)
        tree = .array(items)
    }

    private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: TreeEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil(forKey key: Key) throws { encoder.set(key.stringValue, .null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { encoder.set(key.stringValue, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { encoder.set(key.stringValue, .string(value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            encoder.set(key.stringValue, try TreeEncoder.tree(of: value))
        }
        /// An absent value is written as null: the one difference from JSONEncoder.
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
            encoder.set(key.stringValue, try value.map { try TreeEncoder.tree(of: $0) } ?? .null)
        }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
            encoder.set(key.stringValue, value.map(OutputTree.string) ?? .null)
        }
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
            encoder.set(key.stringValue, value.map(OutputTree.bool) ?? .null)
        }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
            encoder.set(key.stringValue, value.map { .number(String($0)) } ?? .null)
        }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
            encoder.set(key.stringValue, value.map { .number(String($0)) } ?? .null)
        }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
            encoder.set(key.stringValue, value.map { .number(String($0)) } ?? .null)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            fatalError("nested containers are not used by the CLI's reports")
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            fatalError("nested containers are not used by the CLI's reports")
        }
        mutating func superEncoder() -> any Encoder { encoder }
        mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
    }

    private struct Unkeyed: UnkeyedEncodingContainer {
        let encoder: TreeEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }
        var count: Int {
            if case .array(let items) = encoder.tree { items.count } else { 0 }
        }

        mutating func encodeNil() throws { encoder.append(.null) }
        mutating func encode(_ value: Bool) throws { encoder.append(.bool(value)) }
        mutating func encode(_ value: String) throws { encoder.append(.string(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { encoder.append(try TreeEncoder.tree(of: value)) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
            -> KeyedEncodingContainer<NestedKey>
        {
            fatalError("nested containers are not used by the CLI's reports")
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            fatalError("nested containers are not used by the CLI's reports")
        }
        mutating func superEncoder() -> any Encoder { encoder }
    }

    /// Each number type is written here: the protocol's defaults hand them to the generic
    /// `encode`, which would encode them through this container again, without end.
    private struct Single: SingleValueEncodingContainer {
        let encoder: TreeEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil() throws { encoder.tree = .null }
        mutating func encode(_ value: Bool) throws { encoder.tree = .bool(value) }
        mutating func encode(_ value: String) throws { encoder.tree = .string(value) }
        mutating func encode(_ value: Double) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: Float) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: Int) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: Int8) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: Int16) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: Int32) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: Int64) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: UInt) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: UInt8) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: UInt16) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: UInt32) throws { encoder.tree = .number(String(value)) }
        mutating func encode(_ value: UInt64) throws { encoder.tree = .number(String(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { encoder.tree = try TreeEncoder.tree(of: value) }
    }
}
