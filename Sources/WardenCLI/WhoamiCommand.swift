import ArgumentParser
import WardenAPI

/// `warden whoami`: whose certificate the CLI calls with, as the server sees it.
package struct WhoamiCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Print the name, role and certificate serial the server knows this client as.")
    @OptionGroup var admin: AdminOptions

    package init() {}

    package func run() async throws {
        let caller = try await admin.call(.GET, "/v1/admin/whoami", as: AdminMessages.Caller.self)
        try admin.show(caller) { "\(caller.name) (\(caller.role)), certificate serial \(caller.serial)" }
    }
}
