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
    /// What this encoder holds; nested containers' nodes are filled in from their encoders.
    fileprivate var node = OutputTree.null
    private var nestedByKey: [String: TreeEncoder] = [:]
    private var nestedItems: [(index: Int, encoder: TreeEncoder)] = []

    var tree: OutputTree {
        switch node {
        case .object(var fields):
            for (key, nested) in nestedByKey { fields[key] = nested.tree }
            return .object(fields)
        case .array(var items):
            for (index, nested) in nestedItems { items[index] = nested.tree }
            return .array(items)
        default: return node
        }
    }

    private static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Encodes `value` into ``tree``, the leaves this printer writes its own way first.
    func box(_ value: some Encodable) throws {
        switch value {
        case let date as Date: node = .string(date.formatted(Self.dateStyle))
        case let data as Data: node = .string(data.base64EncodedString())
        case let url as URL: node = .string(url.absoluteString)
        default: try value.encode(to: self)
        }
    }

    static func tree(of value: some Encodable) throws -> OutputTree {
        let encoder = TreeEncoder()
        try encoder.box(value)
        return encoder.tree
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node {} else { node = .object([:]) }
        return KeyedEncodingContainer(Keyed<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node {} else { node = .array([]) }
        return Unkeyed(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(encoder: self) }

    fileprivate func set(_ key: String, _ value: OutputTree) {
        guard case .object(var fields) = node else { return }
        fields[key] = value
        nestedByKey[key] = nil
        node = .object(fields)
    }

    fileprivate func append(_ value: OutputTree) {
        guard case .array(var items) = node else { return }
        items.append(value)
        node = .array(items)
    }

    /// An encoder whose node becomes the value at `key` (an enum's payload, say).
    fileprivate func nested(at key: String) -> TreeEncoder {
        set(key, .null)
        let nested = TreeEncoder()
        nestedByKey[key] = nested
        return nested
    }

    /// An encoder whose node becomes the next item.
    fileprivate func nextNested() -> TreeEncoder {
        append(.null)
        let nested = TreeEncoder()
        if case .array(let items) = node { nestedItems.append((items.count - 1, nested)) }
        return nested
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
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { number(value, key) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { number(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { number(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { number(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { number(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { number(value, key) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { number(value, key) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { number(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { number(value, key) }

        /// A number, or null.
        private func number(_ value: (some LosslessStringConvertible)?, _ key: Key) {
            encoder.set(key.stringValue, value.map { .number($0.description) } ?? .null)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            encoder.nested(at: key.stringValue).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            encoder.nested(at: key.stringValue).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { encoder.nested(at: "super") }
        mutating func superEncoder(forKey key: Key) -> any Encoder { encoder.nested(at: key.stringValue) }
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
            encoder.nextNested().container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            encoder.nextNested().unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { encoder.nextNested() }
    }

    /// Each number type is written here: the protocol's defaults hand them to the generic
    /// `encode`, which would encode them through this container again, without end.
    private struct Single: SingleValueEncodingContainer {
        let encoder: TreeEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil() throws { encoder.node = .null }
        mutating func encode(_ value: Bool) throws { encoder.node = .bool(value) }
        mutating func encode(_ value: String) throws { encoder.node = .string(value) }
        mutating func encode(_ value: Double) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: Float) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: Int) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: Int8) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: Int16) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: Int32) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: Int64) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: UInt) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: UInt8) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: UInt16) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: UInt32) throws { encoder.node = .number(String(value)) }
        mutating func encode(_ value: UInt64) throws { encoder.node = .number(String(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { encoder.node = try TreeEncoder.tree(of: value) }
    }
}
