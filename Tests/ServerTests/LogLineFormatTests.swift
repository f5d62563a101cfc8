import Testing

@testable import Server

/// How a value is written in a logfmt line: as it is when that is unambiguous, quoted and
/// escaped otherwise, whatever the text (ASCII or not, control characters of either range).
@Suite struct LogLineFormatTests {
    @Test(arguments: [
        ("node-1", "v=node-1"),
        ("rack@2", "v=rack@2"),
        ("nœud-1", "v=nœud-1"),
        ("", "v=\"\""),
        ("attestation passed", "v=\"attestation passed\""),
        ("a=b", "v=\"a=b\""),
        ("say \"hi\"", "v=\"say \\\"hi\\\"\""),
        ("back\\slash", "v=\"back\\\\slash\""),
        ("line\nbreak", "v=\"line\\nbreak\""),
        ("bell\u{07}", "v=\"bell\\u0007\""),
        ("delete\u{7F}", "v=\"delete\\u007f\""),
        ("next-line\u{85}", "v=\"next-line\\u0085\""),
    ])
    func aValueIsQuotedExactlyWhenItMustBe(value: String, line: String) {
        #expect(StructuredLogHandler.logfmt([("v", value)]) == line)
    }

    @Test func jsonEscapesTheSameCharacters() {
        #expect(
            StructuredLogHandler.json([("msg", "a \"b\"\u{07}\u{85}é")]) == "{\"msg\":\"a \\\"b\\\"\\u0007\\u0085é\"}")
    }
}
