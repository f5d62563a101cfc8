import ArgumentParser
import Foundation
import Server
import Store
import WardenAPI

/// `warden operator …`
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Issue and revoke operator and auditor certificates.",
        subcommands: [Add.self, List.self, Revoke.self, Recover.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a client certificate; writes cert.pem, key.pem (0600) and ca.pem to DIR.")
        @OptionGroup var admin: AdminOptions
        @Argument var name: String
        @Option(help: "operator or auditor.") var role: String
        @Option(help: "The folder to write the identity to (must not exist).") var out: String

        func run() async throws {
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) already exists") }
            let issued = try await admin.call(.POST, "/v1/admin/operators", AdminMessages.OperatorRequest(name: name, role: role), as: AdminMessages.IssuedIdentity.self)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for (file, text, mode) in [("key.pem", issued.key, 0o600), ("cert.pem", issued.certificate, 0o644), ("ca.pem", issued.serverCA, 0o644)] {
                guard FileManager.default.createFile(atPath: out + "/" + file, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
                    throw ValidationError("cannot write \(out)/\(file)")
                }
            }
            print("issued \(role) certificate for \(name) in \(out)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List issued client certificates.")
        @OptionGroup var admin: AdminOptions
        @Option var format: OutputFormat = .text

        func run() async throws {
            let certificates = try await admin.call(.GET, "/v1/admin/operators", as: [OperatorCertificate].self)
            if format == .json { return try JSONOutput.print(certificates) }
            Table.print(["NAME", "ROLE", "SERIAL", "REVOKED"], certificates.map {
                [$0.name, $0.role.rawValue, $0.serial, $0.revokedAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-"]
            })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke every certificate of an operator or auditor.")
        @OptionGroup var admin: AdminOptions
        @Argument var name: String

        func run() async throws {
            print(try await admin.call(.POST, "/v1/admin/operators/" + pathSegment(name) + "/revoke", as: AdminMessages.Done.self).message)
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "On the appliance, as root: issue the local operator identity (STATE-DIR/operator) anew, for when every operator certificate was revoked.",
            discussion: """
                Reads the client CA's key from the state folder, so it works only where that folder is: on the appliance, as the user \
                that owns it (root). The new certificate is recorded and audited; the server, running or not, accepts it at once.
                """
        )
        @Option(help: "The state folder (default: WARDEN_STATE_DIR, else .warden).")
        var stateDir = ProcessInfo.processInfo.environment["WARDEN_STATE_DIR"] ?? ".warden"

        func run() async throws {
            guard geteuid() == 0 else { throw ValidationError("only root on the appliance may recover the operator identity") }
            let state = try StateFolder.existing(at: stateDir)
            let store = try EnrolmentStore(path: state.databasePath, key: state.keyEncryptionKey(), auditSigner: state.auditKey().checkpointSigner(interval: 1_000))
            let serial = try state.reissueOperatorIdentity()
            try store.recordOperatorCertificate(serial: serial, name: "operator", role: .operator, actor: "system (recovery by root on the appliance)")
            print("issued a new operator certificate (serial \(serial)) in \(stateDir)/operator")
        }
    }
}
