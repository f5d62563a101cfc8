import ArgumentParser
import Foundation
import NIOHTTP1
import WardenClient

/// Where the operator CLI connects and as whom: by default the local server, with the
/// state folder's operator certificate.
package struct AdminOptions: ParsableArguments {
    @Option(name: [.customLong("server"), .customLong("warden-url")], help: "The Warden server.")
    var server = AdminTarget.defaultServer

    @Option(help: "A folder with cert.pem, key.pem and ca.pem (default: STATE-DIR/operator).")
    var identity: String?

    @Option(help: "The local state folder, for the default identity.")
    package var stateDir = ".warden"

    package init() {}

    package var target: AdminTarget { AdminTarget(server: server, identity: identity, stateDir: stateDir) }

    package func call<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, _ body: (some Encodable)? = Optional<String>.none,
        as type: Answer.Type = Answer.self
    ) async throws -> Answer {
        try await target.call(method, path, body, as: type)
    }
}

/// A Warden server and the client identity to call it with (`warden-bench` calls it too).
package struct AdminTarget {
    static let defaultServer = "https://127.0.0.1:8443"
    let server: String
    let identity: String?
    let stateDir: String

    package init(server: String, identity: String?, stateDir: String) {
        self.server = server
        self.identity = identity
        self.stateDir = stateDir
    }

    /// A connection to the admin API.
    package func connect() async throws -> HTTPSClient {
        let folder = identity ?? stateDir + "/operator"
        for file in ["cert.pem", "key.pem", "ca.pem"] where !FileManager.default.fileExists(atPath: folder + "/" + file)
        {
            throw ValidationError(
                "no \(file) in \(folder): pass --identity DIR (made by `warden operator add`) or start `warden serve` once"
            )
        }
        return try await HTTPSClient(
            url: server, serverCA: folder + "/ca.pem",
            identity: .init(certificatePath: folder + "/cert.pem", keyPath: folder + "/key.pem"))
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
            InputFile.printError(error.description)
            throw ExitCode(1)
        }
    }
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
