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
    /// A time's calendar fields in UTC: what logs, databases and firmware (EFI_TIME) write.
    public struct Parts: Sendable, Equatable {
        public let year: Int
        public let month: Int
        public let day: Int
        public let hour: Int
        public let minute: Int
        public let second: Int
        public let millisecond: Int
    }

    /// `date`'s fields in UTC, truncated to the millisecond.
    public static func parts(_ date: Date) -> Parts {
        var milliseconds = Int64((date.timeIntervalSince1970 * 1_000).rounded(.down))
        let fraction = Int(((milliseconds % 1_000) + 1_000) % 1_000)
        milliseconds -= Int64(fraction)
        var seconds = time_t(milliseconds / 1_000)
        var fields = tm()
        gmtime_r(&seconds, &fields)
        return Parts(
            year: Int(fields.tm_year) + 1900, month: Int(fields.tm_mon) + 1, day: Int(fields.tm_mday),
            hour: Int(fields.tm_hour), minute: Int(fields.tm_min), second: Int(fields.tm_sec), millisecond: fraction)
    }

    /// `YYYY-MM-DD` `separator` `HH:MM:SS.SSS` `suffix` for `date`, truncated to the millisecond.
    public static func text(_ date: Date, separator: Character = " ", suffix: String = "") -> String {
        let parts = parts(date)
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
        digits(min(max(parts.year, 0), 9999), 4)
        bytes.append(UInt8(ascii: "-"))
        digits(parts.month, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(parts.day, 2)
        bytes += Array(String(separator).utf8)
        digits(parts.hour, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(parts.minute, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(parts.second, 2)
        bytes.append(UInt8(ascii: "."))
        digits(parts.millisecond, 3)
        bytes += Array(suffix.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }
}
