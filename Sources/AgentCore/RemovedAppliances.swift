#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
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
/// attributes, and which it makes immutable until cleared.
public struct RemovedAppliancesFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The attributes the variable is written with: non-volatile, boot-service and runtime
    /// access (UEFI 2.10, 8.2).
    static let variableAttributes: UInt32 = 0x07

    private var isVariable: Bool { path.hasPrefix("/sys/firmware/efi/efivars/") }

    /// The appliances the file lists: none when it does not exist yet; none either, with
    /// `problem` told why, when it cannot be read or parsed (a node must still boot; its
    /// next release writes the list again).
    public func read(problem: (String) -> Void) -> RemovedAppliances {
        let none = RemovedAppliances(certificateDigests: [])
        let contents =
            isVariable
            ? EFIVariableFile(path: path).data() : FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        guard let bytes = contents else {
            if FileManager.default.fileExists(atPath: path) {
                problem("cannot read \(path) (or it is not an EFI variable's contents); trusting every appliance")
            }
            return none
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        guard let removed = RemovedAppliances(hex: lines) else {
            problem("\(path) does not list SHA-256 digests, one per line; trusting every appliance")
            return none
        }
        return removed
    }

    /// Keeps the appliances a release lists, for the next boot, when they differ from what
    /// the file holds; returns how many it now lists, or nil when it was left as it was.
    public func keep(listedIn payload: ReleasePayload) throws(AgentError) -> Int? {
        guard let removed = RemovedAppliances(hex: payload.removedApplianceCertificates) else {
            throw .badRelease("its removed appliances are not SHA-256 digests")
        }
        guard read(problem: { _ in }) != removed else { return nil }
        let text = removed.certificateDigests.map(Hex.encode).sorted().map { $0 + "\n" }.joined()
        if isVariable {
            try EFIVariableFile(path: path).write(attributes: Self.variableAttributes, data: Array(text.utf8))
        } else {
            try ReleaseOutputs.writePrivate(Array(text.utf8), to: path)
        }
        return removed.certificateDigests.count
    }
}
