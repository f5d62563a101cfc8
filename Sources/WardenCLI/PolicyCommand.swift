import ArgumentParser
import Foundation
import WardenAPI

/// `warden policy …`
package struct PolicyCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Apply and read attestation policies.",
        subcommands: [Apply.self, List.self, Show.self, Learn.self])

    package init() {}

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a policy (YAML) as the next version of its name, unless its rules are unchanged.",
            discussion: "With --dry-run, checks the policy and shows how it differs from the latest version.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The policy file.") var file: String
        @Flag(help: "Store nothing: check the policy and show the difference from the latest version.") var dryRun =
            false

        func run() async throws {
            let yaml = String(decoding: try InputFile.read(file, as: "policy"), as: UTF8.self)
            let applied = try await admin.call(
                .POST, "/v1/admin/policies", AdminMessages.PolicyRequest(yaml: yaml, dryRun: dryRun),
                as: AdminMessages.PolicyApplied.self)
            if try admin.format.printed(applied) { return }
            let policy = applied.policy
            if dryRun, applied.outcome == .wouldStore {
                for line in LineDifference.lines(from: applied.previous?.yaml ?? "", to: yaml) { print(line) }
            }
            switch applied.outcome {
            case .stored: print("policy \(policy.name)@\(policy.version) stored")
            case .unchanged:
                print(
                    "policy \(policy.name) unchanged: \(policy.name)@\(policy.version) has the same rules; nothing stored"
                )
            case .wouldStore:
                print("dry run: policy \(policy.name) would be stored as \(policy.name)@\(policy.version)")
            }
        }
    }

    struct Learn: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a policy from a known-good attestation, for review and `policy apply`.",
            discussion: """
                It holds the attestation's PCRs 0-7 (firmware, configuration, boot applications, Secure Boot state), the boot applications PCR 4 loaded, \
                the event log, and Secure Boot when it was on. With --follow-image, PCR 4 is left to the machine's image instead: the policy then \
                allows the iPXE Warden serves and whatever image the machine is given (its UKI and kernel in PCR 4, its sections in PCR 11, its \
                command line in PCR 12), so that changing the machine's image needs no new policy.
                """
        )
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The policy's name.", completion: NameCompletion.policies.kind) var name: String
        @Option(help: "The machine whose attestation it learns from.", completion: NameCompletion.machines.kind)
        var machine: String
        @Option(help: "That attestation (default: the machine's latest passing one).") var fromAttestation: Int64?
        @Flag(help: "Let PCR 4, 11 and 12 follow the machine's image in the catalogue instead of pinning them.")
        var followImage = false
        @Option(help: "Write the YAML here instead of standard output.") var out: String?

        func run() async throws {
            var path = "/v1/admin/machines/" + pathSegment(machine) + "/learned-policy?name=" + pathSegment(name)
            if let fromAttestation { path += "&attestation=\(fromAttestation)" }
            if followImage { path += "&follow-image=true" }
            let learned = try await admin.call(.GET, path, as: AdminMessages.LearnedPolicy.self)
            let text =
                "# learned from attestation \(learned.attestationID) of machine \(machine); review, then: warden policy apply FILE\n"
                + learned.yaml
            guard let out else {
                return try admin.show(learned) { text.hasSuffix("\n") ? String(text.dropLast()) : text }
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: out))
            try admin.show(learned) { "wrote \(out) (from attestation \(learned.attestationID))" }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List policies (latest versions).")
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let policies = try await admin.call(.GET, "/v1/admin/policies", as: [PolicyVersion].self)
            if try admin.format.printed(policies) { return }
            Table.print(["NAME", "VERSION"], policies.map { [$0.name, String($0.version)] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a policy's latest version.")
        @OptionGroup var admin: AdminOptions
        @Argument(completion: NameCompletion.policies.kind) var name: String

        func run() async throws {
            let version = try await admin.call(.GET, "/v1/admin/policies/" + pathSegment(name), as: PolicyVersion.self)
            if try admin.format.printed(version) { return }
            print("# \(version.name), version \(version.version)")
            print(version.yaml, terminator: version.yaml.hasSuffix("\n") ? "" : "\n")
        }
    }
}
