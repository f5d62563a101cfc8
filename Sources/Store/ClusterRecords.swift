import Foundation
import WardenAPI
import WardenCrypto

/// What a machine needs to join its cluster; the token is a secret.
public struct JoinSecrets: Sendable {
    public let cluster: String
    public let serverURL: String
    public let role: MachineRole
    /// The agent token for an agent when the cluster has one, else the cluster token.
    public let token: Secret
    public let labels: [String]
}

extension EnrolmentStore {
    /// Records a cluster; its tokens are sealed under the key-encryption key, each bound to
    /// its own identity.
    public func addCluster(
        name: String, serverURL: String, token: Secret, agentToken: Secret?, actor: String, now: Date = Date()
    ) throws(StoreError) {
        try write { db in
            guard try Int64.fetchOne(db, sql: "SELECT id FROM cluster WHERE name = ?", arguments: [name]) == nil else {
                throw StoreError.duplicate("cluster \(name)")
            }
            let id = try db.insert(
                sql: "INSERT INTO cluster (name, serverURL, createdAt) VALUES (?, ?, ?)",
                arguments: [name, serverURL, now])
            for (identity, secret) in [
                (Self.tokenIdentity(clusterID: id), token), (Self.agentTokenIdentity(clusterID: id), agentToken),
            ] {
                guard let secret else { continue }
                try db.execute(
                    sql: "INSERT INTO sealedSecret (identity, sealed) VALUES (?, ?)",
                    arguments: [identity, Data(try db.seal(secret.revealedBytes, identity: identity, under: self.key))])
            }
            try db.appendAudit(
                actor: actor, action: "cluster-added", subject: "cluster/\(id)",
                details: "cluster \(name) at \(serverURL)\(agentToken == nil ? "" : ", with an agent token")", now: now)
        }
    }

    /// Every cluster, by name.
    public func clusters() throws(StoreError) -> [ClusterSummary] {
        try read { db in
            try SQLRow.fetchAll(
                db,
                sql: """
                    SELECT c.name, c.serverURL, c.createdAt, (SELECT COUNT(*) FROM machine WHERE clusterID = c.id) AS machines,
                        EXISTS (SELECT 1 FROM sealedSecret WHERE identity = 'cluster/' || c.id || '/agent-token') AS hasAgentToken
                    FROM cluster c ORDER BY c.name
                    """
            ).map {
                ClusterSummary(
                    name: $0["name"], k3sServer: $0["serverURL"], hasAgentToken: $0["hasAgentToken"],
                    machines: $0["machines"], createdAt: $0["createdAt"])
            }
        }
    }

    /// The join configuration of machine `machineID`, unsealed; nil when it has no cluster.
    public func joinSecrets(machineID: Int64) throws(StoreError) -> JoinSecrets? {
        try read { db in try db.joinSecrets(machineID: machineID) }.map { sealed throws(StoreError) in
            try sealed.unsealed(with: key)
        }
    }

    static func tokenIdentity(clusterID: Int64) -> String { "\(clusterSecretPrefix)\(clusterID)/\(tokenKind)" }
    static func agentTokenIdentity(clusterID: Int64) -> String {
        "\(clusterSecretPrefix)\(clusterID)/\(agentTokenKind)"
    }
    /// How a cluster's sealed secrets are named: the prefix, the cluster's id, a slash and
    /// the kind (also written in SQL, by ``SQLTransaction/sendMachineSecretsQuery(machineID:alsoSealed:)``).
    static let clusterSecretPrefix = "cluster/"
    static let tokenKind = "token"
    static let agentTokenKind = "agent-token"
}

/// A machine's join configuration with its token still sealed.
struct SealedJoin {
    let cluster: String
    let serverURL: String
    let role: MachineRole
    let labels: [String]
    let identity: String
    let sealedToken: [UInt8]

    func unsealed(with key: KeyEncryptionKey) throws(StoreError) -> JoinSecrets {
        JoinSecrets(
            cluster: cluster, serverURL: serverURL, role: role,
            token: Secret(bytes: try key.open(sealedToken, identity: identity)), labels: labels)
    }
}

extension SQLTransaction {
    /// The join configuration of `machineID`, token sealed; nil when it has no cluster.
    func joinSecrets(machineID: Int64) throws -> SealedJoin? {
        try machineSecrets(machineID: machineID, alsoSealed: nil).join
    }

    /// The join configuration of `machineID`, token sealed (nil when it has no cluster), and
    /// the sealed secret `identity` (nil when there is none), read with it in one query.
    func machineSecrets(machineID: Int64, alsoSealed identity: String?) throws -> (sealed: [UInt8]?, join: SealedJoin?)
    {
        try machineSecrets(from: sendMachineSecretsQuery(machineID: machineID, alsoSealed: identity))
    }

    /// Sends the query of ``machineSecrets(machineID:alsoSealed:)`` without waiting: the
    /// cluster's two tokens come with the machine's row, so one statement answers it.
    func sendMachineSecretsQuery(machineID: Int64, alsoSealed identity: String?) throws -> SQLLaterRows {
        try enqueueQuery(
            sql: """
                SELECT \(Self.machineSecretsColumns)
                FROM machine m LEFT JOIN cluster c ON c.id = m.clusterID \(Self.machineSecretsJoins)
                WHERE m.id = ?
                """, arguments: [identity, machineID])
    }

    /// The columns a machine's secrets are read from (``machineSecrets(from:)``), of the
    /// machine `m`, its cluster `c` and ``machineSecretsJoins``.
    static let machineSecretsColumns =
        "s.sealed, c.id AS clusterID, c.name AS clusterName, c.serverURL, m.role, m.labels, t.sealed AS token, "
        + "g.sealed AS agentToken"

    /// The joins of ``machineSecretsColumns``: the sealed secret named by the one argument
    /// they take, and the cluster's two tokens.
    static var machineSecretsJoins: String {
        func tokenIdentity(_ kind: String) -> String { "'\(EnrolmentStore.clusterSecretPrefix)' || c.id || '/\(kind)'" }
        return """
            LEFT JOIN sealedSecret s ON s.identity = ?
            LEFT JOIN sealedSecret t ON t.identity = \(tokenIdentity(EnrolmentStore.tokenKind))
            LEFT JOIN sealedSecret g ON g.identity = \(tokenIdentity(EnrolmentStore.agentTokenKind))
            """
    }

    /// What the query of ``sendMachineSecretsQuery(machineID:alsoSealed:)`` answered. An
    /// agent gets the agent token when the cluster has one; anything else the cluster token.
    func machineSecrets(from query: SQLLaterRows) throws -> (sealed: [UInt8]?, join: SealedJoin?) {
        guard let row = try answer(query).first else { return (nil, nil) }
        let sealed = (row["sealed"] as Data?).map { [UInt8]($0) }
        guard let clusterID = row["clusterID"] as Int64?,
            let role = (row["role"] as String?).flatMap(MachineRole.init(rawValue:))
        else { return (sealed, nil) }
        let token: (identity: String, sealed: Data)
        if role == .agent, let agentToken = row["agentToken"] as Data? {
            token = (EnrolmentStore.agentTokenIdentity(clusterID: clusterID), agentToken)
        } else if let clusterToken = row["token"] as Data? {
            token = (EnrolmentStore.tokenIdentity(clusterID: clusterID), clusterToken)
        } else {
            throw StoreError.notFound(EnrolmentStore.tokenIdentity(clusterID: clusterID))
        }
        let labels: String = row["labels"]
        return (
            sealed,
            SealedJoin(
                cluster: row["clusterName"], serverURL: row["serverURL"], role: role,
                labels: labels.split(separator: "\n").map(String.init),
                identity: token.identity, sealedToken: [UInt8](token.sealed))
        )
    }
}
