import ArgumentParser
import Foundation
import Server
import WardenCrypto

/// `warden server-cert …`: the appliance's own TLS certificate.
struct ServerCertificateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server-cert", abstract: "Show or re-issue this appliance's server certificate.",
        subcommands: [Show.self, Reissue.self])

    /// The state folder and configuration the command works on.
    struct Location: ParsableArguments {
        @Option(help: "The state folder (default from the configuration: .warden).") var stateDir: String?
        @Option(help: "The configuration file (default: Config/warden.yaml when it exists).") var config: String?

        /// The configuration and its state folder; with `initialising`, a new folder is
        /// initialised first, as `warden serve` would (its server certificate naming the
        /// configured `serverNames`).
        func open(initialising: Bool = false) throws -> (WardenConfiguration, StateFolder) {
            do {
                let configuration = try WardenConfiguration.fromEnvironment(file: config, stateDir: stateDir)
                let state =
                    initialising
                    ? try StateFolder.initialise(at: configuration.stateDir, serverNames: configuration.serverNames)
                    : try StateFolder.existing(at: configuration.stateDir)
                return (configuration, state)
            } catch {
                throw ServeFailure("\(error)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the names the server certificate carries and those serverNames configures.")
        @OptionGroup var location: Location

        func run() throws {
            let (configuration, state) = try location.open()
            print("certificate names: \(try state.serverCertificateNames().joined(separator: ", "))")
            print("serverNames: \(configuration.serverNames.joined(separator: ", "))")
            print("sha256: \(Hex.encode(try state.serverCertificateSHA256()))")
        }
    }

    struct Reissue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue the server certificate anew from the same CA, naming the configured serverNames.",
            discussion: """
                With warden serve stopped (the state folder's lock): agents keep trusting it, since the CA is the \
                same; the appliance table records the new certificate, audited, when warden serve starts.
                """)
        @OptionGroup var location: Location

        func run() throws {
            let (configuration, state) = try location.open()
            let lock: StateFolderLock
            do { lock = try StateFolderLock(folder: state.path, holder: "warden server-cert reissue") } catch {
                throw ServeFailure("\(error.description); stop it, reissue, then start it again")
            }
            let before = try state.serverCertificateNames()
            let digest = try state.reissueServerCertificate(serverNames: configuration.serverNames)
            withExtendedLifetime(lock) {}
            print(
                "reissued \(state.url(.serverCertificate).path) for \(configuration.serverNames.joined(separator: ", "))"
            )
            print("was: \(before.joined(separator: ", ")); sha256 now \(Hex.encode(digest))")
        }
    }
}
