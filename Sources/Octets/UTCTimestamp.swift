#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Times as logs and databases write them: UTC, to the millisecond, in an order that text
/// comparison keeps. The digits are laid out by hand: Foundation's formatters cost more than
/// the database statement a time goes into.
public enum UTCTimestamp {
    /// `YYYY-MM-DD` `separator` `HH:MM:SS.SSS` `suffix` for `date`, truncated to the millisecond.
    public static func text(_ date: Date, separator: Character = " ", suffix: String = "") -> String {
        var milliseconds = Int64((date.timeIntervalSince1970 * 1_000).rounded(.down))
        let fraction = Int(((milliseconds % 1_000) + 1_000) % 1_000)
        milliseconds -= Int64(fraction)
        var seconds = time_t(milliseconds / 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24 + suffix.utf8.count)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
                divisor /= 10
            }
        }
        // Four digits, as the text order needs: years outside 0…9999 are held at its ends.
        digits(min(max(Int(parts.tm_year) + 1900, 0), 9999), 4)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        bytes += Array(String(separator).utf8)
        digits(Int(parts.tm_hour), 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        bytes.append(UInt8(ascii: "."))
        digits(fraction, 3)
        bytes += Array(suffix.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }
}
