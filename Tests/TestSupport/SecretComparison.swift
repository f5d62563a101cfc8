/// Compares secrets (disk keys, credentials, release payloads) without handing their values
/// to `#expect`, which prints both sides of a failed comparison: secrets stay out of test output.
public func sameSecret<T: Equatable>(_ a: T?, _ b: T?) -> Bool { a != nil && a == b }
