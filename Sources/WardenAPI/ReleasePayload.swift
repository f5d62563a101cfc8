#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WardenCrypto

/// What a release carries once the agent has opened it: the disk key, for a machine in a
/// cluster what `/etc/rancher/k3s/config.yaml` needs, and the appliances the node must no
/// longer trust.
public struct ReleasePayload: Codable, Sendable, Equatable {
    public var nodeName: String
    /// The disk key (32 bytes); base64 on the wire.
    public var diskKey: Secret
    public var join: JoinConfiguration?
    /// SHA-256 of the server certificates (DER) of the appliances an operator removed,
    /// lowercase hex: the node refuses a server that presents one (absent on the wire: none).
    public var removedApplianceCertificates: [String]

    public init(
        nodeName: String, diskKey: Secret, join: JoinConfiguration?, removedApplianceCertificates: [String] = []
    ) {
        self.nodeName = nodeName
        self.diskKey = diskKey
        self.join = join
        self.removedApplianceCertificates = removedApplianceCertificates
    }

    private enum CodingKeys: String, CodingKey {
        case nodeName, diskKey, join, removedApplianceCertificates
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodeName = try container.decode(String.self, forKey: .nodeName)
        guard let key = Base64.decode(try container.decode(String.self, forKey: .diskKey)) else {
            throw DecodingError.dataCorruptedError(
                forKey: .diskKey, in: container, debugDescription: "the disk key is not base64")
        }
        diskKey = Secret(bytes: key)
        join = try container.decodeIfPresent(JoinConfiguration.self, forKey: .join)
        removedApplianceCertificates =
            try container.decodeIfPresent([String].self, forKey: .removedApplianceCertificates) ?? []
    }

    /// The payload as it is sealed into a release: JSON, keys sorted, slashes unescaped. It
    /// holds the secrets: the bytes go only to the sealing.
    public func json() throws -> [UInt8] { [UInt8](try Self.encoder.encode(self)) }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nodeName, forKey: .nodeName)
        try container.encode(Base64.encode(diskKey.revealedBytes), forKey: .diskKey)
        try container.encodeIfPresent(join, forKey: .join)
        if !removedApplianceCertificates.isEmpty {
            try container.encode(removedApplianceCertificates, forKey: .removedApplianceCertificates)
        }
    }
}

/// A K3s node's join configuration.
public struct JoinConfiguration: Codable, Sendable, Equatable {
    /// The cluster's server URL (`https://…:6443`).
    public var server: String
    /// The K3s secure token (`K10…`): the agent token for agents when the cluster has one.
    public var token: Secret
    /// `server` or `agent`.
    public var role: String
    public var nodeName: String
    /// `KEY=VALUE` node labels.
    public var labels: [String]

    public init(server: String, token: Secret, role: String, nodeName: String, labels: [String]) {
        self.server = server
        self.token = token
        self.role = role
        self.nodeName = nodeName
        self.labels = labels
    }

    /// The K3s configuration file (YAML), every value quoted.
    public var k3sConfigYAML: String {
        var lines = [
            "server: \(Self.quoted(server))", "token: \(Self.quoted(token.revealedText))",
            "node-name: \(Self.quoted(nodeName))",
        ]
        if !labels.isEmpty { lines += ["node-label:"] + labels.map { "  - \(Self.quoted($0))" } }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar.
    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                out += (scalar.value < 0x10 ? "\\x0" : "\\x") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
