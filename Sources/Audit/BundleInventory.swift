import Archive
import Foundation
import Store
import WardenCrypto

/// First pass over a bundle: every entry's SHA-256, the small files in memory, and each
/// path judged against the layout. Large files (records, evidence) are only hashed here.
struct BundleInventory {
    /// SHA-256 of every regular file, by path.
    private(set) var digests: [String: [UInt8]] = [:]
    /// The small files Warden reads whole, by path.
    private(set) var smallFiles: [String: [UInt8]] = [:]
    /// What is wrong with the entries themselves (unexpected, duplicated, oversized).
    private(set) var failures: [String] = []

    /// Files read whole, and the most each may weigh.
    private static let smallFileLimits: [String: Int] = [
        BundleLayout.manifest: 256 << 20, BundleLayout.manifestSignature: 1 << 10, BundleLayout.publicKey: 16 << 10,
        BundleLayout.summary: 64 << 10, BundleLayout.checkpoints: 256 << 20, BundleLayout.policyIndex: 64 << 20,
    ]
    private static let policyLimit = 1 << 20

    init(path: String) throws(AuditError) {
        var reader = try open(path)
        var hasher = Hasher(.sha256)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        do {
            while let entry = try reader.next() {
                if entry.isDirectory { continue }
                guard entry.isRegularFile else { failures.append("\(entry.path): not a regular file"); continue }
                guard BundleInventory.isExpected(entry.path) else {
                    failures.append("\(entry.path): not part of a Warden bundle"); continue
                }
                guard digests[entry.path] == nil else { failures.append("\(entry.path): appears twice"); continue }
                if let limit = Self.smallFileLimits[entry.path]
                    ?? (entry.path.hasSuffix(".yaml") ? Self.policyLimit : nil)
                {
                    guard entry.size <= limit else {
                        failures.append("\(entry.path): larger than \(limit) bytes"); continue
                    }
                    let bytes = try reader.readAll(limit: limit)
                    smallFiles[entry.path] = bytes
                    digests[entry.path] = DigestAlgorithm.sha256.hash(bytes)
                } else {
                    while true {
                        let count = try reader.read(into: &chunk)
                        if count == 0 { break }
                        hasher.update(chunk[..<count])
                    }
                    digests[entry.path] = hasher.finalize()
                }
            }
        } catch {
            throw AuditError.bundle("\(path): \(error)")
        }
    }

    /// Whether `path` is a file a bundle may hold.
    static func isExpected(_ path: String) -> Bool {
        let top = [
            BundleLayout.readme, BundleLayout.publicKey, BundleLayout.summary, BundleLayout.records,
            BundleLayout.recordsCSV,
            BundleLayout.checkpoints, BundleLayout.policyIndex, BundleLayout.manifest, BundleLayout.manifestSignature,
        ]
        if top.contains(path) { return true }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, parts[0] == "policies", parts[1].hasSuffix(".yaml"), Int64(parts[1].dropLast(5)) != nil {
            return true
        }
        return parts.count == 3 && parts[0] == "evidence" && Int64(parts[1]) != nil
            && (EvidenceFiles.names.contains(String(parts[2])) || parts[2] == BundleLayout.attestationFile)
    }
}

/// Opens a bundle for reading.
func open(_ path: String) throws(AuditError) -> ArchiveReader {
    do { return try ArchiveReader(path: path) } catch { throw AuditError.bundle("\(path): \(error)") }
}
