import ArgumentParser
import Foundation
import WardenAPI

/// `warden machine …`
package struct MachineCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "machine",
        abstract: "Enrol, list, approve and revoke machines.",
        subcommands: [
            Enroll.self, List.self, Show.self, Approve.self, Revoke.self, SetImage.self, Forget.self,
            ClearLegacyMark.self,
        ]
    )

    package init() {}

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol a machine by its EK, or adopt a discovered one.",
            discussion: "FILE is tpm2_createek -u output, a PEM public key, or an EK certificate (DER or PEM)."
        )
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The machine's name.") var name: String
        @Option(help: "The EK file.") var ek: String?
        @Option(help: "The id of a machine that registered itself (warden machine list shows it).") var discovered:
            Int64?
        @Option(help: "A MAC address (repeatable).") var mac: [String] = []
        @Option(help: "The SMBIOS UUID.") var uuid: String?
        @Option(help: "The K3s cluster.", completion: NameCompletion.clusters.kind) var cluster: String?
        @Option(help: "server or agent.", completion: .roles) var role: String?
        @Option(help: "A policy name (default: trust on first use).", completion: NameCompletion.policies.kind)
        var policy: String?
        @Option(help: "A K3s node label KEY=VALUE (repeatable).") var label: [String] = []
        @Option(
            help: "The catalogue image it network-boots (warden image list).", completion: NameCompletion.images.kind)
        var image: String?

        func validate() throws {
            guard (ek == nil) != (discovered == nil) else {
                throw ValidationError("give exactly one of --ek FILE and --discovered ID")
            }
        }

        func run() async throws {
            let file = try ek.map { Data(try InputFile.read($0, as: "EK file")).base64EncodedString() }
            let request = AdminMessages.EnrollRequest(
                name: name, ek: file, discoveredID: discovered, macs: mac, uuid: uuid, cluster: cluster, role: role,
                policy: policy, labels: label,
                image: image)
            let machine = try await admin.call(.POST, "/v1/admin/machines", request, as: MachineSummary.self)
            try admin.show(machine) { "enrolled \(machine.name) (EK name \(machine.ekName))" }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List machines.")
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let machines = try await admin.call(.GET, "/v1/admin/machines", as: [MachineSummary].self)
            if try admin.format.printed(machines) { return }
            Table.print(
                ["ID", "NAME", "STATE", "CLUSTER", "ROLE", "POLICY", "IMAGE", "MACS"],
                machines.map {
                    [
                        String($0.id), $0.name, $0.state.rawValue, $0.cluster ?? "-", $0.role?.rawValue ?? "-",
                        $0.policy ?? "(first use)", $0.image ?? "-", $0.macs.joined(separator: ","),
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a machine, its policy and its recent attestations.")
        @OptionGroup var admin: AdminOptions
        @Argument(completion: NameCompletion.machines.kind) var name: String

        func run() async throws {
            let detail = try await admin.call(.GET, "/v1/admin/machines/" + pathSegment(name), as: MachineDetail.self)
            if try admin.format.printed(detail) { return }
            let m = detail.machine
            print(
                """
                name:     \(m.name)
                state:    \(m.state.rawValue)
                EK name:  \(m.ekName)\(m.hasEKCertificate ? " (with certificate)" : "")
                MACs:     \(m.macs.isEmpty ? "-" : m.macs.joined(separator: ", "))
                UUID:     \(m.smbiosUUID ?? "-")
                cluster:  \(m.cluster.map { "\($0) as \(m.role?.rawValue ?? "?")" } ?? "-")
                labels:   \(m.labels.isEmpty ? "-" : m.labels.joined(separator: ", "))
                image:    \(m.image ?? "-")
                policy:   \(detail.policy.map { "\($0.name)@\($0.version)" } ?? "none yet (trust on first use)")
                """)
            if let enrolled = m.secureBootEnrolledAt {
                print(
                    "Secure Boot: the rack's keys enrolled by Warden at \(enrolled.formatted(.iso8601)), as its agent reported"
                )
            }
            print("attestations:")
            AttestationTable.print(detail.attestations, withMachine: false)
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pin the evidence of a refused attestation as the machine's policy.",
            discussion: "What you reviewed is what gets pinned: the latest refused attestation, or --attestation ID."
        )
        @OptionGroup var admin: AdminOptions
        @Argument(completion: NameCompletion.machines.kind) var name: String
        @Option(help: "The refused attestation to approve (default: the latest).") var attestation: Int64?

        func run() async throws {
            let version = try await admin.call(
                .POST, "/v1/admin/machines/" + pathSegment(name) + "/approve",
                AdminMessages.ApproveRequest(attestationID: attestation), as: PolicyVersion.self)
            try admin.show(version) { "approved: \(name) is now held to policy \(version.name)@\(version.version)" }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a machine: nothing is released to it any more.")
        @OptionGroup var admin: AdminOptions
        @Argument(completion: NameCompletion.machines.kind) var name: String

        func run() async throws {
            try await admin.act(.POST, "/v1/admin/machines/" + pathSegment(name) + "/revoke")
        }
    }

    struct SetImage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-image",
            abstract: "Choose the image a machine network-boots (its next boot script chains it).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The machine.", completion: NameCompletion.machines.kind) var name: String
        @Argument(help: "The image (warden image list), or none.", completion: NameCompletion.images.kind) var image:
            String

        func run() async throws {
            let body = AdminMessages.ImageAssignment(image: image == "none" ? nil : image)
            let machine = try await admin.call(
                .POST, "/v1/admin/machines/" + pathSegment(name) + "/image", body, as: MachineSummary.self)
            try admin.show(machine) { "\(machine.name) boots \(machine.image.map { "image \($0)" } ?? "no image")" }
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Forget a discovered machine nobody will enrol (discovered machines also expire: discoveredMachineLifetime)."
        )
        @OptionGroup var admin: AdminOptions
        @Argument(completion: NameCompletion.machines.kind) var name: String

        func run() async throws {
            try await admin.act(.DELETE, "/v1/admin/machines/" + pathSegment(name))
        }
    }

    struct ClearLegacyMark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear-legacy-mark",
            abstract:
                "Clear a machine's legacy BIOS mark: the boot its agent reported as legacy BIOS is judged by its evidence alone again."
        )
        @OptionGroup var admin: AdminOptions
        @Argument(completion: NameCompletion.machines.kind) var name: String

        func run() async throws {
            try await admin.act(.POST, "/v1/admin/machines/" + pathSegment(name) + "/clear-legacy-mark")
        }
    }
}
