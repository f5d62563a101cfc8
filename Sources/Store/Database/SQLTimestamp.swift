import Foundation
import Octets

/// Times as SQLite columns hold them: `YYYY-MM-DD HH:MM:SS.SSS` in UTC, the form GRDB has
/// always written them in, so that databases of earlier Wardens read back unchanged and
/// text comparison orders them.
enum SQLTimestamp {
    /// The text of `date`, to the millisecond.
    static func text(_ date: Date) -> String { UTCTimestamp.text(date) }

    /// The date `text` names (`YYYY-MM-DD HH:MM:SS` with up to three digits of fraction,
    /// or just the day); nil for any other text.
    static func date(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes.count == 10 || bytes.count >= 19, let year = number(0..<4), bytes[4] == UInt8(ascii: "-"),
            let month = number(5..<7), bytes[7] == UInt8(ascii: "-"), let day = number(8..<10)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var milliseconds = 0
        if bytes.count > 10 {
            guard [UInt8(ascii: " "), UInt8(ascii: "T")].contains(bytes[10]), let h = number(11..<13),
                bytes[13] == UInt8(ascii: ":"), let m = number(14..<16), bytes[16] == UInt8(ascii: ":"),
                let s = number(17..<19)
            else { return nil }
            (hour, minute, second) = (h, m, s)
            if bytes.count > 19 {
                let digits = bytes.count - 20
                guard bytes[19] == UInt8(ascii: "."), (1...3).contains(digits), let fraction = number(20..<bytes.count)
                else { return nil }
                milliseconds = fraction * [100, 10, 1][digits - 1]
            }
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds) / 1_000)
    }
}
