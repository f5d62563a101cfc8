import Foundation

/// A value as a statement binds it and a row returns it, the same on every backend.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case boolean(Bool)
    case text(String)
    case blob([UInt8])
    /// A point in time; SQLite keeps it as text (``SQLTimestamp``), PostgreSQL as `timestamptz`.
    case timestamp(Date)
}

/// A Swift type a column holds: how it binds, and how it reads back (nil when the stored
/// value is not one of its own).
public protocol SQLColumnValue {
    var sqlValue: SQLValue { get }
    static func decode(_ value: SQLValue) -> Self?
}

extension Int64: SQLColumnValue {
    public var sqlValue: SQLValue { .integer(self) }
    public static func decode(_ value: SQLValue) -> Int64? {
        switch value {
        case .integer(let integer): integer
        case .boolean(let flag): flag ? 1 : 0
        default: nil
        }
    }
}

extension Int: SQLColumnValue {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
    public static func decode(_ value: SQLValue) -> Int? { Int64.decode(value).map(Int.init) }
}

extension Bool: SQLColumnValue {
    public var sqlValue: SQLValue { .boolean(self) }
    public static func decode(_ value: SQLValue) -> Bool? {
        switch value {
        case .boolean(let flag): flag
        case .integer(let integer): integer != 0
        default: nil
        }
    }
}

extension Double: SQLColumnValue {
    public var sqlValue: SQLValue { .real(self) }
    public static func decode(_ value: SQLValue) -> Double? {
        switch value {
        case .real(let real): real
        case .integer(let integer): Double(integer)
        default: nil
        }
    }
}

extension String: SQLColumnValue {
    public var sqlValue: SQLValue { .text(self) }
    public static func decode(_ value: SQLValue) -> String? {
        guard case .text(let text) = value else { return nil }
        return text
    }
}

extension Data: SQLColumnValue {
    public var sqlValue: SQLValue { .blob([UInt8](self)) }
    public static func decode(_ value: SQLValue) -> Data? {
        guard case .blob(let bytes) = value else { return nil }
        return Data(bytes)
    }
}

extension Date: SQLColumnValue {
    public var sqlValue: SQLValue { .timestamp(self) }
    public static func decode(_ value: SQLValue) -> Date? {
        switch value {
        case .timestamp(let date): date
        case .text(let text): SQLTimestamp.date(text)
        // Seconds since 1970, as GRDB reads a number in a date column.
        case .integer(let seconds): Date(timeIntervalSince1970: Double(seconds))
        case .real(let seconds): Date(timeIntervalSince1970: seconds)
        default: nil
        }
    }
}

extension Optional: SQLColumnValue where Wrapped: SQLColumnValue {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
    public static func decode(_ value: SQLValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        return Wrapped.decode(value).map { .some($0) }
    }
}

extension SQLColumnValue where Self: RawRepresentable, RawValue: SQLColumnValue {
    public var sqlValue: SQLValue { rawValue.sqlValue }
    public static func decode(_ value: SQLValue) -> Self? { RawValue.decode(value).flatMap(Self.init(rawValue:)) }
}

extension Array: SQLColumnValue where Element == UInt8 {
    public var sqlValue: SQLValue { .blob(self) }
    public static func decode(_ value: SQLValue) -> [UInt8]? {
        guard case .blob(let bytes) = value else { return nil }
        return bytes
    }
}
