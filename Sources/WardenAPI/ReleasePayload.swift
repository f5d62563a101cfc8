/// What a release carries once the agent has opened it: the disk key and, for a machine in
/// a cluster, what `/etc/rancher/k3s/config.yaml` needs.
public struct ReleasePayload: Codable, Sendable, Equatable {
    public var nodeName: String
    /// The disk key (32 bytes), base64.
    public var diskKey: String
    public var join: JoinConfiguration?

    public init(nodeName: String, diskKey: String, join: JoinConfiguration?) {
        self.nodeName = nodeName
        self.diskKey = diskKey
        self.join = join
    }
}

/// A K3s node's join configuration.
public struct JoinConfiguration: Codable, Sendable, Equatable {
    /// The cluster's server URL (`https://…:6443`).
    public var server: String
    /// The K3s secure token (`K10…`): the agent token for agents when the cluster has one.
    public var token: String
    /// `server` or `agent`.
    public var role: String
    public var nodeName: String
    /// `KEY=VALUE` node labels.
    public var labels: [String]

    public init(server: String, token: String, role: String, nodeName: String, labels: [String]) {
        self.server = server
        self.token = token
        self.role = role
        self.nodeName = nodeName
        self.labels = labels
    }

    /// The K3s configuration file (YAML), every value quoted.
    public var k3sConfigYAML: String {
        var lines = ["server: \(Self.quoted(server))", "token: \(Self.quoted(token))", "node-name: \(Self.quoted(nodeName))"]
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
            case _ where scalar.value < 0x20: out += (scalar.value < 0x10 ? "\\x0" : "\\x") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
