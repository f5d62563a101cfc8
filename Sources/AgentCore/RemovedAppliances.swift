#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import WardenAPI
import WardenClient
import WardenCrypto

/// The appliances an operator removed, as a node's last release listed them (the SHA-256 of
/// each one's server certificate): the node refuses a server presenting one of them from
/// then on, and tries the next appliance.
public struct RemovedAppliances: Sendable, Equatable {
    public let certificateDigests: Set<[UInt8]>

    public init(certificateDigests: Set<[UInt8]>) {
        self.certificateDigests = certificateDigests
    }

    /// The list a release carried (lowercase hex); nil when an entry is not a SHA-256 digest.
    public init?(hex: [String]) {
        var digests: Set<[UInt8]> = []
        for entry in hex {
            guard let digest = Hex.decode(entry), digest.count == 32 else { return nil }
            digests.insert(digest)
        }
        certificateDigests = digests
    }

    /// What an HTTPS client checks a server's certificate with: nothing when none was removed.
    var serverCheck: ServerCertificateCheck? {
        guard !certificateDigests.isEmpty else { return nil }
        return { [certificateDigests] certificate in
            certificateDigests.contains(DigestAlgorithm.sha256.hash(certificate))
                ? "its certificate is one of an appliance an operator removed" : nil
        }
    }
}

/// Where a node keeps ``RemovedAppliances`` between boots: a file of lowercase hex digests,
/// one per line. Its disk is still locked when the agent runs, so on a node it is an EFI
/// variable (a path in efivarfs), whose contents efivarfs prefixes with the variable's
/// attributes.
public struct RemovedAppliancesFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The attributes the variable is written with: non-volatile, boot-service and runtime
    /// access (UEFI 2.10, 8.2), little-endian.
    static let variableAttributes: [UInt8] = [0x07, 0, 0, 0]

    private var isVariable: Bool { path.hasPrefix("/sys/firmware/efi/efivars/") }

    /// The appliances the file lists; none when it does not exist yet.
    public func read() throws(AgentError) -> RemovedAppliances {
        guard let data = FileManager.default.contents(atPath: path) else {
            guard !FileManager.default.fileExists(atPath: path) else { throw .output("cannot read \(path)") }
            return RemovedAppliances(certificateDigests: [])
        }
        var bytes = [UInt8](data)
        if isVariable {
            guard bytes.count >= 4 else { throw .output("\(path) is not an EFI variable's contents") }
            bytes.removeFirst(4)
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        guard let removed = RemovedAppliances(hex: lines) else {
            throw .output("\(path) does not list SHA-256 digests, one per line: remove it to trust every appliance")
        }
        return removed
    }

    /// Keeps the appliances a release lists, for the next boot.
    public func keep(listedIn payload: ReleasePayload) throws(AgentError) {
        guard let removed = RemovedAppliances(hex: payload.removedApplianceCertificates) else {
            throw .badRelease("its removed appliances are not SHA-256 digests")
        }
        try write(removed)
    }

    /// Replaces the list with `removed`'s when it differs, so that an EFI variable is written
    /// only when an appliance was removed since.
    public func write(_ removed: RemovedAppliances) throws(AgentError) {
        guard try read() != removed else { return }
        let text = removed.certificateDigests.map(Hex.encode).sorted().map { $0 + "\n" }.joined()
        let bytes = (isVariable ? Self.variableAttributes : []) + Array(text.utf8)
        // efivarfs takes a variable in one write, and renames nothing: written in place there;
        // a plain file goes through a temporary one, so that a crash leaves the old list.
        let target = isVariable ? path : path + ".new"
        let descriptor = open(target, O_WRONLY | O_CREAT | (isVariable ? 0 : O_TRUNC), 0o644)
        guard descriptor >= 0 else { throw .output("cannot write \(target): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let synced = isVariable || fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced else { throw .output("cannot write \(target)") }
        if !isVariable, rename(target, path) != 0 {
            throw .output("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }
}
