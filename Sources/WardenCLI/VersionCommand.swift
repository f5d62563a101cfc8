import ArgumentParser
import Foundation
import WardenAPI

/// `warden version`: this client's release, and the server's (`GET /v1/version`).
package struct VersionCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the client's and the server's versions.",
        discussion: "The server's needs an operator or auditor certificate; --client asks no server.")

    @OptionGroup var admin: AdminOptions
    @Flag(help: "Only this client's version.") var client = false

    package init() {}

    private struct Versions: Encodable {
        let client: String
        let server: ServerVersion?
    }

    package func run() async throws {
        let server = client ? nil : try await admin.call(.GET, "/v1/version", as: ServerVersion.self)
        if try admin.format.printed(Versions(client: WardenVersion.release, server: server)) { return }
        print("client: warden \(WardenVersion.release)")
        if let server {
            print(
                "server: warden \(server.release) (API \(server.api)), appliance \(server.appliance ?? "unnamed"), "
                    + "\(server.database), schema \(server.schema ?? "none")")
        }
    }
}
