import Foundation
import Octets
import WardenCrypto

/// The audit chain's byte formats, which an auditor can re-implement from this file:
///
/// - a record's hash is SHA-256 of `"warden.audit.record.v2"`, a zero byte, the sequence
///   as 8 bytes big-endian, then time, appliance, actor, action, subject, details and the
///   evidence digest (empty when there is none), each as a 4-byte big-endian length and its
///   UTF-8 (or raw) bytes, and last the previous record's 32-byte hash;
/// - a record that names no appliance (written before appliances were named) keeps the
///   first format: `"warden.audit.record.v1"` and the same without the appliance field;
/// - a checkpoint signs (Ed25519) `"warden.audit.checkpoint.v1"`, a zero byte, the
///   sequence (8 bytes big-endian), the 32-byte hash and the signing time (length-prefixed).
public enum AuditChain {
    /// The "previous hash" of the first record.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The hash `record` must carry.
    public static func hash(of record: AuditRecord) -> [UInt8] {
        var bytes = Array((record.appliance == nil ? "warden.audit.record.v1" : "warden.audit.record.v2").utf8) + [0]
        bytes.reserveCapacity(128 + record.details.utf8.count)
        BigEndian.append(record.sequence, to: &bytes)
        appendField(record.time.utf8, to: &bytes)
        if let appliance = record.appliance { appendField(appliance.utf8, to: &bytes) }
        for field in [record.actor, record.action, record.subject, record.details] {
            appendField(field.utf8, to: &bytes)
        }
        appendField(record.evidenceSHA256 ?? [], to: &bytes)
        bytes += record.previousHash
        return DigestAlgorithm.sha256.hash(bytes)
    }

    /// What a checkpoint of record `sequence` signs.
    public static func checkpointMessage(sequence: Int64, hash: [UInt8], signedAt: String) -> [UInt8] {
        var bytes = Array("warden.audit.checkpoint.v1".utf8) + [0]
        BigEndian.append(sequence, to: &bytes)
        bytes += hash
        appendField(Array(signedAt.utf8), to: &bytes)
        return bytes
    }

    /// `date` as the chain writes times: UTC, RFC 3339, milliseconds (`2026-11-22T05:06:07.123Z`).
    public static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds % 1000), 3))Z"
    }

    private static func appendField(_ field: some Collection<UInt8>, to bytes: inout [UInt8]) {
        BigEndian.append(UInt32(field.count), to: &bytes)
        bytes += field
    }
}
