import ArgumentParser
import Foundation
import WardenAPI

/// `warden operator add|list|revoke`: the admin API's part of `warden operator`.
package enum OperatorClientCommands {
    package struct Add: AsyncParsableCommand {
        package static let configuration = CommandConfiguration(
            abstract: "Issue a client certificate; writes cert.pem, key.pem (0600) and ca.pem to DIR.")
        @OptionGroup var admin: AdminOptions
        @Argument var name: String
        @Option(help: "operator or auditor.", completion: .list(["operator", "auditor"])) var role: String
        @Option(help: "The folder to write the identity to (must not exist).") var out: String

        package init() {}

        package func run() async throws {
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) already exists") }
            let issued = try await admin.call(
                .POST, "/v1/admin/operators", AdminMessages.OperatorRequest(name: name, role: role),
                as: AdminMessages.IssuedIdentity.self)
            try FileManager.default.createDirectory(
                atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for (file, text, mode) in [
                ("key.pem", issued.key, 0o600), ("cert.pem", issued.certificate, 0o644),
                ("ca.pem", issued.serverCA, 0o644),
            ] {
                guard
                    FileManager.default.createFile(
                        atPath: out + "/" + file, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
                else {
                    throw ValidationError("cannot write \(out)/\(file)")
                }
            }
            // What was written and where, never the key itself.
            let written = IssuedIdentityFiles(
                name: name, role: role, folder: out, files: ["cert.pem", "key.pem", "ca.pem"])
            try admin.show(written) { "issued \(role) certificate for \(name) in \(out)" }
        }
    }

    package struct List: AsyncParsableCommand {
        package static let configuration = CommandConfiguration(abstract: "List issued client certificates.")
        @OptionGroup var admin: AdminOptions

        package init() {}

        package func run() async throws {
            let certificates = try await admin.call(.GET, "/v1/admin/operators", as: [OperatorCertificate].self)
            if try admin.format.printed(certificates) { return }
            Table.print(
                ["NAME", "ROLE", "SERIAL", "REVOKED"],
                certificates.map {
                    [
                        $0.name, $0.role.rawValue, $0.serial,
                        $0.revokedAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-",
                    ]
                })
        }
    }

    package struct Revoke: AsyncParsableCommand {
        package static let configuration = CommandConfiguration(
            abstract: "Revoke every certificate of an operator or auditor.")
        @OptionGroup var admin: AdminOptions
        @Argument var name: String

        package init() {}

        package func run() async throws {
            try await admin.act(.POST, "/v1/admin/operators/" + pathSegment(name) + "/revoke")
        }
    }
}

/// What `operator add` wrote: the identity's folder and files (the key stays in its file).
private struct IssuedIdentityFiles: Encodable {
    let name: String
    let role: String
    let folder: String
    let files: [String]
}
