import Foundation
import Logging
import Store
import Synchronization

/// Audits refusals of requests nobody authenticated — and the legacy BIOS scripts and Secure
/// Boot updates anyone can ask for — in bounded form. Anyone on the boot network can send such requests as fast as
/// the network carries them, so each is not its own record:
/// the first refusal of a kind (for one machine, when it concerns one) is recorded at once,
/// and the rest within ``interval`` are counted, with a few of their sources, into one
/// record when the interval ends. The audit log grows by at most two records per kind and
/// machine per interval, whatever the flood, and stays one contiguous chain.
public final class RefusalAudit: Sendable {
    /// What was refused; the kinds are fixed, so the records are bounded however the
    /// requests vary.
    public enum Kind: String, Sendable, CaseIterable {
        case rateLimited = "rate-limit"
        case adminUnauthenticated = "admin-unauthenticated"
        case unknownEndorsementKey = "unknown-ek"
        case registration
        case activation
        case challenge
        case attestation
        case discovery
        case legacyBoot = "legacy-boot"
        case secureBootEnrolment = "secureboot-enrolment"
        /// Secure Boot updates sent to a machine that says it is in setup mode.
        case secureBootUpdatesSent = "secureboot-updates-sent"

        /// The audit record's action: `refusal`, or what was served.
        var action: String {
            switch self {
            case .legacyBoot: "legacy-boot-script"
            case .secureBootUpdatesSent: "secureboot-enrolment-sent"
            default: "refusal"
            }
        }
    }

    /// One kind's window: the requests counted since its last record.
    private struct Window {
        var opened: Date
        var counted = 0
        var sources: Set<String> = []
        var moreSources = false
        /// What the first counted refusal said, for the summary.
        var example: String?
    }

    private struct Key: Hashable {
        let kind: Kind
        let machineID: Int64?
    }

    /// Sources named in a summary; the rest are only counted.
    static let sourcesNamed = 8
    /// Characters of a refusal's subject and details kept in a record.
    public static let maxText = 300

    private let store: EnrolmentStore
    /// The length of a window, in seconds.
    public let interval: TimeInterval
    private let windows = Mutex<[Key: Window]>([:])

    /// Refusals are written to `logger` as they are audited: the first of a window, then its summary.
    public init(store: EnrolmentStore, interval: TimeInterval, logger: Logger = .silent("warden.refusals")) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    private let logger: Logger

    /// Records (or counts) one refusal of `kind`, about machine `machineID` when it concerns
    /// one, from `source`. Blocks on the database when it records: call it off the event loop.
    public func refused(
        _ kind: Kind, machineID: Int64? = nil, actor: String, subject: String, details: String, source: String,
        now: Date = Date()
    ) {
        let key = Key(kind: kind, machineID: machineID)
        let recordNow = windows.withLock { windows in
            guard var window = windows[key] else {
                windows[key] = Window(opened: now)
                return true
            }
            window.counted += 1
            if window.sources.count < Self.sourcesNamed {
                window.sources.insert(source)
            } else if !window.sources.contains(source) {
                window.moreSources = true
            }
            if window.example == nil { window.example = Self.bounded(details) }
            windows[key] = window
            return false
        }
        guard recordNow else { return }
        logger.warning(
            "\(Self.bounded(details))",
            metadata: [
                "kind": "\(kind.rawValue)", "subject": "\(Self.bounded(subject))", "source": "\(Self.bounded(source))",
            ])
        record(kind.rawValue) {
            try store.audit(
                actor: Self.bounded(actor), action: kind.action, subject: Self.bounded(subject),
                details: Self.bounded(details), now: now)
        }
    }

    /// Runs `write`, the audit record of a refusal of `kind` (a ``Kind``'s raw value, or
    /// another refusal's action); one that fails is logged with its cause (the refusal itself
    /// stands), so that a record missing from the log is never a silent loss.
    func record(_ kind: String, _ write: () throws -> Void) {
        do { try write() } catch {
            logger.error("refusal not audited", metadata: ["kind": "\(kind)", "cause": "\(error)"])
        }
    }

    /// Writes the summary of every window that has lasted ``interval`` (or all of them, at
    /// shutdown), and closes the quiet ones.
    public func flush(now: Date = Date(), all: Bool = false) {
        let due = windows.withLock { windows in
            var due: [(Key, Window)] = []
            for (key, window) in windows where all || now.timeIntervalSince(window.opened) >= interval {
                if window.counted > 0 { due.append((key, window)) }
                windows[key] = window.counted > 0 && !all ? Window(opened: now) : nil
            }
            return due
        }
        for (key, window) in due.sorted(by: { $0.1.opened < $1.1.opened }) {
            let sources = window.sources.sorted().joined(separator: ", ") + (window.moreSources ? " and others" : "")
            let seconds = Int(now.timeIntervalSince(window.opened).rounded())
            let summary =
                "\(window.counted) more \(key.kind.rawValue) request(s) in \(seconds) s from \(sources); for example: \(window.example ?? "")"
            logger.warning("\(summary)", metadata: ["kind": "\(key.kind.rawValue)", "count": "\(window.counted)"])
            record(key.kind.rawValue) {
                try store.audit(
                    actor: "anonymous", action: key.kind.action,
                    subject: key.machineID.map { "machine/\($0)" } ?? "refusals/\(key.kind.rawValue)",
                    details: summary, now: now)
            }
        }
    }

    /// `text` cut to ``maxText`` characters, control characters replaced.
    static func bounded(_ text: String) -> String {
        let cleaned = String(
            text.unicodeScalars.prefix(maxText).map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        return text.unicodeScalars.count > maxText ? cleaned + "…" : cleaned
    }
}
