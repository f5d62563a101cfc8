import ArgumentParser
import Foundation

/// `warden context …`: the client file's named servers, kubectl-style.
package struct ContextCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "context", abstract: "Name Warden servers and the identities to call them with, and pick one.",
        discussion: """
            Contexts live in the client file: WARDEN_CLIENT_CONFIG, else ~/.config/warden/config.yaml. \
            Options and the WARDEN_URL, WARDEN_IDENTITY and WARDEN_STATE_DIR variables outrank the current \
            context; --context NAME outranks the variables.
            """,
        subcommands: [List.self, Use.self, Set.self, Delete.self, Current.self])

    package init() {}

    /// The client file's path, from the environment.
    static var file: String { ClientConfiguration.path(in: ProcessInfo.processInfo.environment) }

    /// Runs `change` on the client file and writes it back.
    static func change(_ change: (inout ClientConfiguration) throws -> Void) throws {
        var configuration = try ClientConfiguration.load(from: file)
        try change(&configuration)
        try configuration.save(to: file)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the contexts; * marks the current one.")
        @Option(name: [.customShort("o"), .long]) var format: OutputFormat = .text

        func run() throws {
            let configuration = try ClientConfiguration.load(from: ContextCommand.file)
            if try format.printed(configuration) { return }
            Table.print(
                ["CURRENT", "NAME", "SERVER", "IDENTITY", "STATE DIR"],
                configuration.contexts.map {
                    [
                        $0.name == configuration.currentContext ? "*" : "", $0.name, $0.server ?? "", $0.identity ?? "",
                        $0.stateDir ?? "",
                    ]
                })
        }
    }

    struct Use: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a context the current one.")
        @Argument var name: String

        func run() throws {
            try ContextCommand.change { configuration in
                guard configuration.context(named: name) != nil else {
                    throw ClientSetupError(
                        "no context \(name) in \(ContextCommand.file): add it with `warden context set`")
                }
                configuration.currentContext = name
            }
            print("current context: \(name)")
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a context, or change the fields given of an existing one.")
        @Argument var name: String
        @Option(help: "Warden's URL (https://HOST:PORT).") var server: String?
        @Option(help: "A folder with cert.pem, key.pem and ca.pem (made by `warden operator add`).") var identity:
            String?
        @Option(help: "A state folder, for its operator identity.") var stateDir: String?

        func run() throws {
            let absolute = { (path: String) in URL(fileURLWithPath: path).standardized.path }
            try ContextCommand.change { configuration in
                var context = configuration.context(named: name) ?? .init(name: name)
                context.server = server ?? context.server
                context.identity = identity.map(absolute) ?? context.identity
                context.stateDir = stateDir.map(absolute) ?? context.stateDir
                configuration.contexts.removeAll { $0.name == name }
                configuration.contexts.append(context)
                if configuration.currentContext == nil { configuration.currentContext = name }
            }
            print("context \(name) set in \(ContextCommand.file)")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a context.")
        @Argument var name: String

        func run() throws {
            try ContextCommand.change { configuration in
                guard configuration.context(named: name) != nil else {
                    throw ClientSetupError("no context \(name) in \(ContextCommand.file)")
                }
                configuration.contexts.removeAll { $0.name == name }
                if configuration.currentContext == name { configuration.currentContext = nil }
            }
            print("context \(name) removed")
        }
    }

    struct Current: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print where commands connect now and as whom, and where each came from.")
        @OptionGroup var admin: AdminOptions

        func run() throws {
            let target = try admin.target
            print("server: \(target.server) (\(target.serverOrigin))")
            print("identity: \(target.identity) (\(target.identityOrigin))")
            print("state folder: \(target.stateDir)")
        }
    }
}
