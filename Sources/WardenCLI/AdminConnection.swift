import ArgumentParser
import Foundation
import NIOHTTP1
import WardenAPI
import WardenClient

/// Where the operator CLI connects and as whom. Each of the server, the identity and the
/// state folder comes from its option, else its environment variable (`WARDEN_URL` — or
/// `https://WARDEN_API_HOST:WARDEN_API_PORT`, as `warden serve` was started —,
/// `WARDEN_IDENTITY`, `WARDEN_STATE_DIR`), else the client file's context (``ClientConfiguration``),
/// else the local server with the state folder's operator certificate.
package struct AdminOptions: ParsableArguments {
    @Option(
        name: [.customLong("server"), .customLong("warden-url")],
        help: "The Warden server (default: WARDEN_URL, the context's, or https://127.0.0.1:8443).")
    var server: String?

    @Option(
        help:
            "A folder with cert.pem, key.pem and ca.pem (default: WARDEN_IDENTITY, the context's, or STATE-DIR/operator)."
    )
    var identity: String?

    @Option(
        help: "The local state folder, for the default identity (default: WARDEN_STATE_DIR, the context's, or .warden)."
    )
    var stateDir: String?

    @Option(help: "A context of the client file (default: its current-context; see `warden context`).")
    var context: String?

    @Option(name: [.customShort("o"), .long], help: "How to print the result: text, json or yaml.")
    package var format: OutputFormat = .text

    package init() {}

    /// Prints `value` as JSON or YAML, or else the lines of `text`.
    package func show(_ value: some Encodable, text: () -> String) throws {
        if try !format.printed(value) { print(text()) }
    }

    /// Runs an admin call that answers what it did, and prints that.
    package func act(_ method: HTTPMethod, _ path: String, _ body: (some Encodable)? = Optional<String>.none)
        async throws
    {
        let done = try await call(method, path, body, as: AdminMessages.Done.self)
        try show(done) { done.message }
    }

    /// Where to connect and as whom, with where each came from; when that cannot be told,
    /// the command ends with a message and status 1.
    package var target: AdminTarget {
        get throws {
            do {
                return try AdminTarget.resolve(self, environment: ProcessInfo.processInfo.environment)
            } catch let error as CustomStringConvertible & Error {
                InputFile.printError(error.description)
                throw ExitCode(1)
            }
        }
    }

    package func call<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, _ body: (some Encodable)? = Optional<String>.none,
        as type: Answer.Type = Answer.self
    ) async throws -> Answer {
        try await target.call(method, path, body, as: type)
    }
}

/// A Warden server and the client identity to call it with (`warden-bench` calls it too).
package struct AdminTarget: Sendable {
    static let defaultServer = "https://127.0.0.1:8443"
    static let defaultStateDir = ".warden"
    package let server: String
    /// The folder with cert.pem, key.pem and ca.pem.
    package let identity: String
    package let stateDir: String
    /// Where the server and the identity came from, for messages ("from WARDEN_URL", say).
    let serverOrigin: String
    let identityOrigin: String

    package init(server: String, identity: String?, stateDir: String) {
        self.server = server
        self.identity = identity ?? stateDir + "/operator"
        self.stateDir = stateDir
        serverOrigin = "given"
        identityOrigin = identity == nil ? "of the state folder's operator" : "given"
    }

    private init(
        server: (String, String), identity: (String, String), stateDir: String
    ) {
        (self.server, serverOrigin) = server
        (self.identity, identityOrigin) = identity
        self.stateDir = stateDir
    }

    /// Options first, then `environment`, then the client file's context, then the defaults.
    /// A state folder given as an option brings its own operator identity. A current context
    /// that names none in the file is an error only when something is taken from it.
    static func resolve(_ options: AdminOptions, environment: [String: String]) throws -> AdminTarget {
        let set = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let file = ClientConfiguration.path(in: environment)
        let configuration = try ClientConfiguration.load(from: file)
        let named = options.context ?? configuration.currentContext
        let context = named.flatMap(configuration.context(named:))
        /// A context's value, or the error of a context that is not in the file.
        func fromContext(_ field: KeyPath<ClientConfiguration.Context, String?>) throws -> (String, String)? {
            guard let named else { return nil }
            guard let context else {
                throw ClientSetupError(
                    "no context \(named) in \(file): `warden context list` shows them, `warden context set` adds one")
            }
            return context[keyPath: field].map { ($0, "from context \(named)") }
        }
        // An explicit --context outranks the environment; the current context does not.
        func pick(
            _ option: String?, _ variable: (String, String)?, _ field: KeyPath<ClientConfiguration.Context, String?>
        )
            throws -> (String, String)?
        {
            if let option { return (option, "given") }
            if options.context != nil { return try fromContext(field) ?? variable }
            return try variable ?? fromContext(field)
        }
        let variable = { (name: String) in set(name).map { ($0, "from \(name)") } }
        let stateDir = try pick(options.stateDir, variable("WARDEN_STATE_DIR"), \.stateDir)?.0 ?? defaultStateDir
        let servedAt = set("WARDEN_API_PORT").map { port in
            let host = set("WARDEN_API_HOST").flatMap { ["0.0.0.0", "::"].contains($0) ? nil : $0 } ?? "127.0.0.1"
            return ("https://\(host.contains(":") ? "[\(host)]" : host):\(port)", "from WARDEN_API_PORT")
        }
        let server =
            try pick(options.server, variable("WARDEN_URL") ?? servedAt, \.server) ?? (defaultServer, "by default")
        let ownOperator = (stateDir + "/operator", "of state folder \(stateDir)'s operator")
        let identity =
            options.identity == nil && options.stateDir != nil
            ? ownOperator : try pick(options.identity, variable("WARDEN_IDENTITY"), \.identity) ?? ownOperator
        return AdminTarget(server: server, identity: identity, stateDir: stateDir)
    }

    /// A connection to the admin API.
    package func connect() async throws -> HTTPSClient {
        for file in ["cert.pem", "key.pem", "ca.pem"]
        where !FileManager.default.fileExists(atPath: identity + "/" + file) {
            throw ClientSetupError(
                "no \(file) in \(identity) (the identity \(identityOrigin)): pass --identity DIR (made by `warden operator add`), "
                    + "set WARDEN_IDENTITY or WARDEN_STATE_DIR, choose a context (`warden context use NAME`), "
                    + "or start `warden serve` once")
        }
        return try await HTTPSClient(
            url: server, serverCA: identity + "/ca.pem",
            identity: .init(certificatePath: identity + "/cert.pem", keyPath: identity + "/key.pem"))
    }

    /// Runs one admin call.
    func call<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, _ body: (some Encodable)? = Optional<String>.none,
        as type: Answer.Type = Answer.self
    ) async throws -> Answer {
        try await run { client in try await client.call(method, path, body, as: type) }
    }

    /// Runs `body` on a connection, turning a refusal into a message and exit status 1.
    package func run<T>(_ body: (HTTPSClient) async throws -> T) async throws -> T {
        do {
            let client = try await connect()
            defer { Task { await client.close() } }
            return try await body(client)
        } catch let refusal as APIRefusal {
            InputFile.printError(refusal.description)
            throw ExitCode(1)
        } catch let error as ClientError {
            InputFile.printError(error.description + (serverOrigin == "given" ? "" : " (server URL \(serverOrigin))"))
            throw ExitCode(1)
        } catch let error as ClientSetupError {
            InputFile.printError(error.description)
            throw ExitCode(1)
        }
    }
}

/// The CLI cannot tell where to connect or as whom.
package struct ClientSetupError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// A path segment with everything but unreserved characters percent-encoded.
func pathSegment(_ text: String) -> String {
    text.addingPercentEncoding(
        withAllowedCharacters: CharacterSet(
            charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? text
}

/// Prints rows as aligned columns.
enum Table {
    static func print(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            Swift.print(
                row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                    separator: "  "
                )
                .trimmingCharacters(in: .whitespaces))
        }
    }
}
