/// Texts `JSONEncoder` treats each its own way: quotes, backslashes, slashes, every control
/// character, and characters beyond ASCII; for tests of JSON written by hand.
public let awkwardJSONTexts = [
    "", "node-1", "say \"no\"", #"C:\boot\"#, "a/b//c+d==", "tab\there\nnewline\r", "ünïcødé 🖥️ ノード",
    String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{7F}",
]
