import ArgumentParser
import Foundation
import WardenAPI
import WardenCrypto

/// `warden cluster …`
package struct ClusterCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Record K3s clusters machines join.", subcommands: [Add.self, List.self])

    package init() {}

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a cluster; its tokens are sealed at rest and only ever released to attested machines.")
        @Argument var name: String
        @Option(name: .customLong("k3s-server"), help: "The cluster's K3s server URL (https://HOST:6443).")
        var k3sServer: String
        @OptionGroup var admin: AdminOptions
        @Option(help: "A file holding the K3s secure token (K10…).") var tokenFile: String
        @Option(help: "A file holding the agent token, for agent-role machines.") var agentTokenFile: String?

        func validate() throws {
            if let k3s = URL(string: k3sServer), let warden = URL(string: try admin.target.server),
                k3s.host?.lowercased() == warden.host?.lowercased(), (k3s.port ?? 443) == (warden.port ?? 443)
            {
                throw ValidationError(
                    "--k3s-server \(k3sServer) is the Warden server this command talks to: give the K3s server's URL")
            }
        }

        func run() async throws {
            func token(_ path: String) throws -> Secret {
                Secret(
                    text: String(decoding: try InputFile.read(path, as: "token file"), as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines))
            }
            let request = AdminMessages.ClusterRequest(
                name: name, k3sServer: k3sServer, token: try token(tokenFile), agentToken: try agentTokenFile.map(token)
            )
            try await admin.act(.POST, "/v1/admin/clusters", request)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clusters (never their tokens).")
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let clusters = try await admin.call(.GET, "/v1/admin/clusters", as: [ClusterSummary].self)
            if try admin.format.printed(clusters) { return }
            Table.print(
                ["NAME", "K3S SERVER", "AGENT TOKEN", "MACHINES"],
                clusters.map { [$0.name, $0.k3sServer, $0.hasAgentToken ? "yes" : "no", String($0.machines)] })
        }
    }
}
