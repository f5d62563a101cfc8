import ArgumentParser
import Foundation
import Store
import WardenAPI

/// `warden policy …`
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Apply and read attestation policies.", subcommands: [Apply.self, List.self, Show.self])

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a policy (YAML) as the next version of its name.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The policy file.") var file: String

        func run() async throws {
            let yaml = String(decoding: try InputFile.read(file, as: "policy"), as: UTF8.self)
            let version = try await admin.call(.POST, "/v1/admin/policies", AdminMessages.PolicyRequest(yaml: yaml), as: PolicyVersion.self)
            print("policy \(version.name) version \(version.version) stored")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List policies (latest versions).")
        @OptionGroup var admin: AdminOptions
        @Option var format: OutputFormat = .text

        func run() async throws {
            let policies = try await admin.call(.GET, "/v1/admin/policies", as: [PolicyVersion].self)
            if format == .json { return try JSONOutput.print(policies) }
            Table.print(["NAME", "VERSION"], policies.map { [$0.name, String($0.version)] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a policy's latest version.")
        @OptionGroup var admin: AdminOptions
        @Argument var name: String
        @Option var format: OutputFormat = .text

        func run() async throws {
            let version = try await admin.call(.GET, "/v1/admin/policies/" + pathSegment(name), as: PolicyVersion.self)
            if format == .json { return try JSONOutput.print(version) }
            print("# \(version.name), version \(version.version)")
            print(version.yaml, terminator: version.yaml.hasSuffix("\n") ? "" : "\n")
        }
    }
}
