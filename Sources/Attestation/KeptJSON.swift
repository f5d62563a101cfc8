import Foundation

/// The JSON form of what is kept with an attestation's evidence: keys sorted, so the same
/// value is always the same bytes (its digest is in the audit chain).
enum KeptJSON {
    /// `value` as stable JSON; for values of strings, numbers and arrays or enums of them,
    /// which always encode.
    static func encode(_ value: some Encodable) -> [UInt8] {
        (try? [UInt8](encoder.encode(value))) ?? []
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Reads `bytes` as `T`; `what` names them in the error.
    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws(PolicyError) -> T {
        do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch {
            throw PolicyError("\(what) kept with the evidence does not decode: \(error)")
        }
    }
}
