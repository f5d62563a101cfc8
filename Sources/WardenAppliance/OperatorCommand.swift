import ArgumentParser
import Foundation
import Server
import Store
import WardenCLI

/// `warden operator …`: the admin API's commands, and `recover` on the appliance.
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Issue and revoke operator and auditor certificates.",
        subcommands: [
            OperatorClientCommands.Add.self, OperatorClientCommands.List.self, OperatorClientCommands.Revoke.self,
            Recover.self,
        ])

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "On the appliance, as root: issue the local operator identity (STATE-DIR/operator) anew, for when every operator certificate was revoked.",
            discussion: """
                Reads the client CA's key from the state folder, so it works only where that folder is: on the appliance, as the user \
                that owns it (root). The new certificate is recorded and audited; the server, running or not, accepts it at once.
                """
        )
        @Option(help: "The state folder (default: WARDEN_STATE_DIR, else .warden).")
        var stateDir = ProcessInfo.processInfo.environment["WARDEN_STATE_DIR"] ?? ".warden"

        func run() async throws {
            guard geteuid() == 0 else {
                throw ValidationError("only root on the appliance may recover the operator identity")
            }
            let state = try StateFolder.existing(at: stateDir)
            let configuration = try WardenConfiguration.fromEnvironment()
            let store = try EnrolmentStore(
                location: configuration.storeLocation(in: state), key: state.keyEncryptionKey(),
                auditSigner: state.auditKey().checkpointSigner(interval: 1_000), appliance: configuration.applianceName)
            let serial = try state.reissueOperatorIdentity()
            try store.recordOperatorCertificate(
                serial: serial, name: "operator", role: .operator, actor: "system (recovery by root on the appliance)")
            print("issued a new operator certificate (serial \(serial)) in \(stateDir)/operator")
        }
    }
}
