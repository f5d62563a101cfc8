/// K3s secure tokens: `K10<SHA-256 of the cluster CA, hex>::<username>:<password>`. The
/// hash pins the cluster's CA, so a node that joins with one cannot be sent to another
/// cluster; short tokens without it are refused.
enum K3sToken {
    /// Why `token` is not a secure token, or nil when it is.
    static func problem(_ token: String) -> String? {
        guard token.hasPrefix("K10") else { return "is not a K3s secure token (K10<CA hash>::<user>:<password>)" }
        let body = token.dropFirst(3)
        guard let separator = body.range(of: "::") else { return "lacks the '::' after the CA hash" }
        let hash = body[..<separator.lowerBound]
        guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
            return "does not carry a 64-digit SHA-256 hash of the cluster CA"
        }
        let credentials = body[separator.upperBound...].split(
            separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard credentials.count == 2, !credentials[0].isEmpty, credentials[1].count >= 16 else {
            return "does not end in <user>:<password> with a password of at least 16 characters"
        }
        guard token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            return "contains whitespace or non-ASCII characters"
        }
        return nil
    }
}
