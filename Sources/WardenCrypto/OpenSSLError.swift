import COpenSSL

/// A libcrypto call failed; carries what Warden was doing and OpenSSL's own error queue.
public struct OpenSSLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What Warden was trying to do ("parse a PEM public key", …).
    public let operation: String
    /// The messages OpenSSL queued for this failure, oldest first (may be empty).
    public let details: [String]

    /// Captures (and clears) the calling thread's OpenSSL error queue.
    init(_ operation: String) {
        self.operation = operation
        self.details = Self.drainQueue()
    }

    public var description: String {
        details.isEmpty ? "could not \(operation)" : "could not \(operation): \(details.joined(separator: "; "))"
    }

    /// Empties the error queue, returning its messages.
    static func drainQueue() -> [String] {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages
    }
}
