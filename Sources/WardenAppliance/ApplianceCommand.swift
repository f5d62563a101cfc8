import ArgumentParser
import Foundation
import Server
import Store
import WardenCrypto

/// `warden appliance …`: several appliances on one PostgreSQL database.
struct ApplianceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appliance", abstract: "Join, list and remove the appliances sharing one database.",
        discussion: """
            Run these on an appliance, as the user that owns its state folder, with the configuration `warden serve` \
            uses (Config/warden.yaml or --config, WARDEN_* variables).
            """,
        subcommands: [ExportJoin.self, Join.self, List.self, Remove.self])

    /// Where the appliance's configuration and state folder are.
    struct Location: ParsableArguments {
        @Option(help: "The state folder (default from the configuration: .warden).")
        var stateDir: String?

        @Option(help: "The configuration file (default: Config/warden.yaml when it exists).")
        var config: String?

        func configuration() throws -> WardenConfiguration {
            try WardenConfiguration.fromEnvironment(file: config, stateDir: stateDir)
        }

        /// The configuration, the state folder `warden serve` made, and the store they name.
        func open() throws -> (configuration: WardenConfiguration, state: StateFolder, store: EnrolmentStore) {
            let configuration = try configuration()
            let state = try StateFolder.existing(at: configuration.stateDir)
            return (configuration, state, try store(configuration, state))
        }

        /// The store of the appliance `configuration` describes, its records naming it.
        func store(_ configuration: WardenConfiguration, _ state: StateFolder) throws -> EnrolmentStore {
            try EnrolmentStore(
                location: configuration.storeLocation(in: state), key: state.keyEncryptionKey(),
                auditSigner: state.auditKey().checkpointSigner(interval: Int64(configuration.auditCheckpointInterval)),
                appliance: configuration.applianceName)
        }
    }

    struct ExportJoin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-join",
            abstract: "Write a join bundle: the shared keys, sealed under a passphrase, for one new appliance.",
            discussion: """
                The bundle carries the server and client CAs, the release, image and audit signing keys and the \
                key-encryption key, sealed with AES-256-GCM under a key scrypt derives from the passphrase (at least \
                12 characters, from --passphrase-file or typed). It is good for one join within 24 hours; carry the \
                passphrase apart from the file.
                """)

        @OptionGroup var location: Location

        @Option(help: "Where to write the bundle (a new file, 0600).")
        var out: String

        @OptionGroup var passphrase: PassphraseOption

        func run() async throws {
            let (configuration, state, store) = try location.open()
            guard store.isShared else {
                throw ValidationError(
                    "this appliance keeps its database in SQLite: move it to PostgreSQL first (warden store copy), then join others to it"
                )
            }
            let passphrase = try self.passphrase.read(prompt: "Passphrase for the join bundle: ", confirm: true)
            // Checked before the database records a join that would then go unused.
            guard passphrase.revealedText.count >= SealedBundle.minimumPassphraseLength else {
                throw ValidationError(
                    "a bundle's passphrase has at least \(SealedBundle.minimumPassphraseLength) characters")
            }
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists already") }
            let join = try store.issueJoin(
                by: configuration.applianceName, actor: "appliance/\(configuration.applianceName) (export-join)")
            let bytes = try JoinBundle.export(from: state, join: join).sealed(passphrase: passphrase)
            try writeNew(out, bytes)
            print(
                "join bundle \(Hex.encode(join.id)) written to \(out): one appliance may join with it until \(AuditChain.timestamp(join.expiresAt))"
            )
        }
    }

    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make this (new) appliance a member, with a join bundle and its passphrase.",
            discussion: """
                The state folder must hold no keys yet. The configuration names this appliance (applianceName), its \
                addresses (serverNames: its own server certificate names them) and the shared PostgreSQL database. \
                The database spends the bundle: a second use, an expired bundle or one from a removed appliance is \
                refused, and nothing is left in the state folder.
                """)

        @OptionGroup var location: Location

        @Argument(help: "The join bundle (from `warden appliance export-join` on a member).")
        var bundle: String

        @OptionGroup var passphrase: PassphraseOption

        func run() async throws {
            let configuration = try location.configuration()
            guard try configuration.postgresLocation() != nil else {
                throw ValidationError("an appliance joins others on their PostgreSQL database: set database first")
            }
            guard let bytes = FileManager.default.contents(atPath: bundle) else {
                throw ValidationError("cannot read \(bundle)")
            }
            let passphrase = try self.passphrase.read(prompt: "Passphrase: ", confirm: false)
            let opened = try JoinBundle.open([UInt8](bytes), passphrase: passphrase)
            let state = try opened.install(into: configuration.stateDir, serverNames: configuration.serverNames)
            do {
                try location.store(configuration, state).join(
                    id: opened.id, name: configuration.applianceName,
                    serverCertificateSHA256: try state.serverCertificateSHA256(),
                    operatorSerial: try state.operatorSerial())
            } catch {
                state.removeKeys()
                throw error
            }
            print(
                "appliance \(configuration.applianceName) joined (bundle from \(opened.issuedBy)); start it with `warden serve`"
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the appliances sharing the database.")

        @OptionGroup var location: Location

        @Option(help: "text or json.")
        var format = "text"

        func run() async throws {
            let (configuration, _, store) = try location.open()
            let appliances = try store.appliances()
            if format == "json" {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.dateEncodingStrategy = .iso8601
                print(String(decoding: try encoder.encode(appliances), as: UTF8.self))
                return
            }
            print("NAME\tSTATE\tJOINED\tREMOVED\tDATABASE ROLE\tCERTIFICATE SHA-256")
            for appliance in appliances {
                print(
                    [
                        appliance.name + (appliance.name == configuration.applianceName ? " (this)" : ""),
                        appliance.state.rawValue, AuditChain.timestamp(appliance.joinedAt),
                        appliance.removedAt.map(AuditChain.timestamp) ?? "-", appliance.databaseRole ?? "-",
                        Hex.encode(appliance.serverCertificateSHA256),
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an appliance for good: it may not serve again, and its database role is revoked.",
            discussion: """
                Run it on another appliance. The removed one's record stays (its audit records still verify); it \
                may not start again, no join bundle it issued opens, and where it connects to PostgreSQL as a role \
                of its own, that role loses its login and its sessions end. Then rotate the key-encryption key.
                """)

        @OptionGroup var location: Location

        @Argument(help: "The appliance's name.")
        var name: String

        func run() async throws {
            let (configuration, _, store) = try location.open()
            guard name != configuration.applianceName else {
                throw ValidationError(
                    "run `warden appliance remove \(name)` on another appliance, not on \(name) itself")
            }
            let (removed, roleLeft) = try store.removeAppliance(
                named: name, actor: "appliance/\(configuration.applianceName) (appliance remove)")
            print("appliance \(removed.name) removed")
            if let roleLeft { print("warning: \(roleLeft)") }
        }
    }
}
