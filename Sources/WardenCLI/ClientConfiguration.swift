import Foundation
import Yams

/// The operator's client file, kubectl-style: named contexts, each a Warden server and the
/// identity to call it with, and the one in use. `WARDEN_CLIENT_CONFIG` names the file;
/// by default `$XDG_CONFIG_HOME/warden/config.yaml` (`~/.config/warden/config.yaml`).
package struct ClientConfiguration: Codable, Equatable, Sendable {
    /// One server and how to reach it; relative paths are relative to the file's folder.
    package struct Context: Codable, Equatable, Sendable {
        package var name: String
        /// Warden's URL (https://HOST:PORT).
        package var server: String?
        /// A folder with cert.pem, key.pem and ca.pem.
        package var identity: String?
        /// A state folder, for its operator identity (on the appliance itself).
        package var stateDir: String?

        package init(name: String, server: String? = nil, identity: String? = nil, stateDir: String? = nil) {
            self.name = name
            self.server = server
            self.identity = identity
            self.stateDir = stateDir
        }
    }

    package var currentContext: String?
    package var contexts: [Context]

    enum CodingKeys: String, CodingKey {
        case currentContext = "current-context"
        case contexts
    }

    package init(currentContext: String? = nil, contexts: [Context] = []) {
        self.currentContext = currentContext
        self.contexts = contexts
    }

    /// Where the file is, from `environment`.
    package static func path(in environment: [String: String]) -> String {
        if let named = environment["WARDEN_CLIENT_CONFIG"], !named.isEmpty { return named }
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config"
        return base + "/warden/config.yaml"
    }

    /// The file at `path`; an empty configuration when there is none.
    package static func load(from path: String) throws(ClientConfigurationError) -> ClientConfiguration {
        guard FileManager.default.fileExists(atPath: path) else { return ClientConfiguration() }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            var configuration = try YAMLDecoder().decode(ClientConfiguration.self, from: text)
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            for index in configuration.contexts.indices {
                configuration.contexts[index].identity = configuration.contexts[index].identity.map {
                    Self.resolve($0, against: folder)
                }
                configuration.contexts[index].stateDir = configuration.contexts[index].stateDir.map {
                    Self.resolve($0, against: folder)
                }
            }
            return configuration
        } catch {
            throw ClientConfigurationError(path: path, reason: "\(error)")
        }
    }

    /// Writes the file (0600, its folder 0700).
    package func save(to path: String) throws(ClientConfigurationError) {
        do {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Data(try YAMLEncoder().encode(self).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            chmod(path, 0o600)
        } catch {
            throw ClientConfigurationError(path: path, reason: "\(error)")
        }
    }

    /// The context named `name`.
    package func context(named name: String) -> Context? { contexts.first { $0.name == name } }

    private static func resolve(_ path: String, against folder: URL) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        return expanded.hasPrefix("/") ? expanded : folder.appendingPathComponent(expanded).standardized.path
    }
}

/// The client file could not be read or written.
package struct ClientConfigurationError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    package var description: String { "the client configuration \(path): \(reason)" }
}
