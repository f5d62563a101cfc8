import ArgumentParser
import Foundation
import ImageBuilding
import Octets
import WardenAPI
import WardenClient

/// `warden image …`: the catalogue of boot images.
package struct ImageCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Add, list, show and remove boot images (Unified Kernel Images).",
        subcommands: [Add.self, List.self, Show.self, Remove.self]
    )

    package init() {}

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a Unified Kernel Image from a kernel, an initrd and a command line, and add it.",
            discussion: """
                The image is assembled here on systemd's EFI stub (Debian's systemd-boot-efi) with objcopy, \
                then uploaded; the server checks it, records its SHA-256, SHA-384 and Authenticode digest \
                (what the firmware measures into PCR 4), stores it under its SHA-256 and signs it.
                """
        )
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The image's name.") var name: String
        @Option(help: "The kernel (vmlinuz).") var kernel: String
        @Option(help: "The initrd.") var initrd: String
        @Option(help: "The kernel command line, built in and passed exactly by the boot script.") var cmdline =
            "console=ttyS0,115200 panic=-1"
        @Option(help: "systemd's EFI stub.") var stub = UKIBuilder.debianStub
        @Flag(help: "Append warden-agent, its libraries, the server CA and the server URL to the initrd.")
        var withAgent = false
        @Option(help: "The warden-agent binary (default: the one beside this warden).") var agent: String?
        @Option(
            help:
                "An appliance's URL as nodes reach it, once per appliance, in the order they try them (default: --server)."
        )
        var agentServer: [String] = []

        /// What the server would refuse, found before the build: the name, the command line,
        /// an image of that name already there, a caller who may only read.
        private func checkFirst() async throws {
            for problem in [ResourceName.problem(name, "image"), BootArgument.commandLineProblem(cmdline)] {
                if let problem {
                    InputFile.printError(problem)
                    throw ExitCode(1)
                }
            }
            let target = try admin.target
            try await target.run { client in
                let caller = try await client.call(.GET, "/v1/admin/whoami", as: AdminMessages.Caller.self)
                guard caller.role == "operator" else {
                    throw ClientSetupError("the \(caller.role) role may only read: adding an image needs an operator")
                }
                let existing = try await client.send(.GET, "/v1/admin/images/" + pathSegment(name))
                guard existing.status != 200 else {
                    throw ClientSetupError("image \(name) exists already: remove it or choose another name")
                }
            }
        }

        func run() async throws {
            try await checkFirst()
            let progress = TerminalProgress.start("image \(name)", format: admin.format)
            progress?.stage("building the Unified Kernel Image")
            let work = FileManager.default.temporaryDirectory.appendingPathComponent(
                "warden-image-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }
            let uki = work.appendingPathComponent("image.efi").path
            var builder = UKIBuilder()
            builder.stub = stub
            do {
                var initrd = self.initrd
                if withAgent {
                    initrd = work.appendingPathComponent("initrd-with-agent").path
                    try overlay().append(to: self.initrd, output: initrd)
                }
                try builder.build(
                    kernel: kernel, initrd: initrd, commandLine: cmdline,
                    osRelease: "ID=warden\nNAME=\"Warden image \(name)\"\n", output: uki)
            } catch let failure as CustomStringConvertible & Error {
                progress?.end()
                InputFile.printError(failure.description)
                throw ExitCode(1)
            }
            // Streamed from the file: memory stays small whatever the initrd's size.
            let image = try await admin.target.run { client in
                try await client.call(
                    .PUT, "/v1/admin/images/" + pathSegment(name), file: uki, progress: progress?.transfer,
                    as: ImageRecord.self)
            }
            progress?.end()
            if try admin.format.printed(image) { return }
            print(
                "added image \(image.name): \(image.size) bytes, sha256 \(image.sha256), Authenticode sha256 \(image.authenticodeSHA256)"
            )
        }

        /// The agent overlay: the warden-agent beside this binary (or --agent), the server CA
        /// of the operator identity, and the appliances' URLs nodes use.
        private func overlay() throws -> AgentOverlay {
            let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let binary =
                agent
                ?? URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("warden-agent").path
            let target = try admin.target
            return AgentOverlay(
                agent: binary, serverCA: target.identity + "/ca.pem",
                serverURLs: agentServer.isEmpty ? [target.server] : agentServer)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List images.")
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let images = try await admin.call(.GET, "/v1/admin/images", as: [ImageRecord].self)
            if try admin.format.printed(images) { return }
            Table.print(
                ["NAME", "SIZE", "SHA256", "MACHINES"],
                images.map {
                    [
                        $0.name, String($0.size), String($0.sha256.prefix(16)) + "…",
                        $0.machines.isEmpty ? "-" : $0.machines.joined(separator: ","),
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an image's digests, command line and machines.")
        @OptionGroup var admin: AdminOptions
        @Argument(completion: NameCompletion.images.kind) var name: String

        func run() async throws {
            let image = try await admin.call(.GET, "/v1/admin/images/" + pathSegment(name), as: ImageRecord.self)
            if try admin.format.printed(image) { return }
            print(
                """
                name:                \(image.name)
                size:                \(image.size) bytes
                sha256:              \(image.sha256)
                sha384:              \(image.sha384)
                Authenticode sha256: \(image.authenticodeSHA256)\(image.secureBootSigned == nil ? " (PCR 4)" : "")
                signed for Secure Boot: \(image.secureBootSigned.map { "sha256 \($0.sha256), Authenticode sha256 \($0.authenticodeSHA256) (PCR 4), \($0.size) bytes" } ?? "no (no appliance with the rack's Secure Boot keys signed it yet)")
                kernel sha256:       \(image.linuxSHA256)
                initrd sha256:       \(image.initrdSHA256)
                command line:        \(image.commandLine)
                kernel Authenticode: \(image.kernelAuthenticodeSHA256 ?? "-") (PCR 4, loaded by the stub)
                served as:           /images/\(image.servedSHA256).efi (signature: .efi.sig); legacy BIOS: \(image.sha256).linux and .initrd
                machines:            \(image.machines.isEmpty ? "-" : image.machines.joined(separator: ", "))
                PCR 11 events (systemd stub, sha256):
                """)
            for event in image.sectionMeasurements ?? [] { print("  \(event.sha256)  \(event.what)") }
            if image.sectionMeasurements == nil { print("  not recorded: \(image.unmeasuredReason)") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an image no machine boots.")
        @OptionGroup var admin: AdminOptions
        @Argument(completion: NameCompletion.images.kind) var name: String

        func run() async throws {
            try await admin.act(.DELETE, "/v1/admin/images/" + pathSegment(name))
        }
    }
}
