/// The names of machines, images, clusters, policies and operators: 1 to 63 ASCII letters,
/// digits, `-` or `.`, starting with a letter or digit. The server refuses others; the CLI
/// checks before it does anything long.
public enum ResourceName {
    /// Why `name` cannot name a `what` (`machine`, `image`…); nil when it can.
    public static func problem(_ name: String, _ what: String) -> String? {
        guard (1...63).contains(name.count),
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }),
            name.first?.isLetter == true || name.first?.isNumber == true
        else {
            let article = "aeiou".contains(what.first ?? "x") ? "an" : "a"
            return "\(article) \(what) name is 1–63 letters, digits, '-' or '.', starting with a letter or digit"
        }
        return nil
    }
}
