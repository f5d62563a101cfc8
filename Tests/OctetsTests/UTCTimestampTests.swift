import Foundation
import Octets
import Testing

/// Times laid out by hand read exactly as Foundation's ISO 8601 formatter writes them.
@Suite struct UTCTimestampTests {
    @Test(arguments: [0, 0.999, 951_782_400.5, 1_733_368_315.125, 1_764_903_115.0009, 4_102_444_799.999])
    func timesMatchFoundationsISO8601(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let expected = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        #expect(UTCTimestamp.text(date, separator: "T", suffix: "Z") == expected)
        #expect(UTCTimestamp.text(date) == expected.replacingOccurrences(of: "T", with: " ").dropLast())
    }

    @Test func yearsOutsideFourDigitsAreHeldAtItsEnds() {
        #expect(UTCTimestamp.text(Date(timeIntervalSince1970: -70_000_000_000)).hasPrefix("0000-"))
        #expect(UTCTimestamp.text(Date(timeIntervalSince1970: 300_000_000_000)).hasPrefix("9999-"))
    }
}
