import AgentCore
import ArgumentParser
import WardenAPI
#if canImport(Glibc)
import Glibc
#endif

/// `warden-agent`: runs on the node, talks to its TPM and to Warden.
@main
@available(macOS 13, *)
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden-agent",
        abstract: "Attest this machine's TPM to Warden and receive its disk key and K3s configuration.",
        version: WardenVersion.release,
        subcommands: [Attest.self, Register.self, SecureBootEnrol.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "Warden's URL; once per appliance, tried in turn.") var server: [String]
        @Option(help: "Warden's server CA certificate (the only one trusted).") var ca: String
        @Option(
            help: """
                The TPM: device:/dev/tpmrm0, or swtpm:host=HOST,port=PORT (default: $TPM2TOOLS_TCTI as \
                tpm2-tools reads it, else device:/dev/tpmrm0).
                """)
        var tcti: String?
        @Option(help: "Seconds to keep trying the appliances when none can serve (with pauses of 1, 2, 4… s).")
        var patience = 120
        @Option(
            help: """
                Where the node keeps the appliances an operator removed, as its last release listed them \
                (refused from then on): an EFI variable in efivarfs on a node whose disk is still locked.
                """)
        var removedAppliances: String?

        func validate() throws {
            guard !server.isEmpty else { throw ValidationError("give Warden's URL with --server (once per appliance)") }
            guard patience >= 0 else { throw ValidationError("--patience is seconds, 0 or more") }
        }

        var removedAppliancesFile: RemovedAppliancesFile? { removedAppliances.map(RemovedAppliancesFile.init) }

        /// The TPM to use: --tcti, else tpm2-tools' variable, else the kernel's resource manager.
        var tpm: String {
            tcti ?? getenv("TPM2TOOLS_TCTI").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
                ?? "device:/dev/tpmrm0"
        }

        func attestor() -> Attestor {
            Attestor(
                tcti: tpm,
                appliances: ApplianceFailover(servers: server, patience: .seconds(patience)) { failure in
                    printLine("\(failure); trying the next appliance")
                }, serverCA: ca,
                removed: removedAppliancesFile?.read(problem: printLine) ?? RemovedAppliances(certificateDigests: []))
        }

    }

    struct Attest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attest, then write the key and K3s config to --out DIR, or unlock --unlock DEVICE with it.",
            discussion: "On refusal nothing is written; the exit status is 1 and the server's reason is printed."
        )
        @OptionGroup var connection: Connection
        @Option(help: "The firmware's event log (/sys/kernel/security/tpm0/binary_bios_measurements).") var eventlog:
            String?
        @Option(help: "The kernel command line; warden.boot=legacy-bios in it reports a legacy BIOS boot.")
        var kernelCommandLine = "/proc/cmdline"
        @Option(help: "Write disk.key and k3s-config.yaml here (0600).") var out: String?
        @Option(help: "Open this LUKS2 device with the key (formatting it only if it has no LUKS header).") var unlock:
            String?
        @Option(help: "The device-mapper name for --unlock.") var name = "warden-data"
        @Option(help: "Where --unlock mounts the volume and writes etc/rancher/k3s/config.yaml.") var mountpoint =
            "/mnt/warden"

        func validate() throws {
            guard (out == nil) != (unlock == nil) else {
                throw ValidationError("give exactly one of --out DIR and --unlock DEVICE")
            }
        }

        func run() async throws {
            do {
                let log = try eventlog.map { try EventLogFile.read($0) }
                let payload = try await connection.attestor().attest(
                    eventLog: log, legacyBIOS: KernelCommandLine.saysLegacyBIOS(at: kernelCommandLine))
                // Kept for the next boot; a failure is reported, and the node goes on: its disk matters more.
                if let file = connection.removedAppliancesFile {
                    do {
                        if let count = try file.keep(listedIn: payload) {
                            printLine("\(file.path) now lists \(count) removed appliance(s), refused from now on")
                        }
                    } catch {
                        printLine("cannot keep the removed appliances in \(file.path): \(error)")
                    }
                }
                if let out {
                    try ReleaseOutputs.write(payload, to: out)
                    print(
                        "warden-agent: attested; wrote \(out)/disk.key\(payload.join == nil ? "" : " and \(out)/k3s-config.yaml") for \(payload.nodeName)"
                    )
                } else if let unlock {
                    try ReleaseOutputs.unlock(payload, device: unlock, name: name, mountpoint: mountpoint)
                    print("warden-agent: attested; \(unlock) unlocked as /dev/mapper/\(name), mounted on \(mountpoint)")
                }
            } catch {
                printError(error)
                throw ExitCode(1)
            }
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Announce this machine's EK so an operator can adopt it (warden machine enroll NAME --discovered ID).")
        @OptionGroup var connection: Connection

        func run() async throws {
            do {
                let found = try await connection.attestor().discover()
                print("warden-agent: registered as machine \(found.machineID) (\(found.state))")
            } catch {
                printError(error)
                throw ExitCode(1)
            }
        }
    }
}

extension AgentCommand {
    struct SecureBootEnrol: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "secureboot-enrol",
            abstract: "Enrol the rack's Secure Boot keys (PK, KEK, db) in a firmware in setup mode, from Warden.",
            discussion: """
                Sends the EK and the firmware's event log, accepts the updates only as Warden's release key signed \
                them (a refusal is reported), writes db, KEK and PK through efivarfs and reports what the firmware \
                took. A firmware not in setup mode is only registered, as `register` does. Reboot afterwards: the \
                next boot runs with Secure Boot on under the rack's keys.
                """)
        @OptionGroup var connection: AgentCommand.Connection
        @Option(help: "The firmware's event log (/sys/kernel/security/tpm0/binary_bios_measurements).") var eventlog =
            "/sys/kernel/security/tpm0/binary_bios_measurements"
        @Option(help: "The efivarfs folder.") var efivars = "/sys/firmware/efi/efivars"

        func run() async throws {
            do {
                let outcome = try await connection.attestor().enrolSecureBoot(
                    eventLog: { try EventLogFile.read(eventlog) }, firmware: FirmwareVariables(folder: efivars))
                switch outcome {
                case .enrolled(let machine, let variables):
                    print(
                        "warden-agent: enrolled the rack's Secure Boot keys (\(variables.joined(separator: ", "))) as machine \(machine); reboot"
                    )
                case .notInSetupMode(let found):
                    print(
                        "warden-agent: the firmware is not in setup mode; registered as machine \(found.machineID) (\(found.state))"
                    )
                }
            } catch {
                printError(error)
                throw ExitCode(1)
            }
        }
    }
}

/// Prints one line to standard error.
func printError(_ error: any Error) { printLine("\(error)") }

/// Writes `text` as one line of standard error, after the program's name.
func printLine(_ text: String) {
    let line = Array("warden-agent: \(text)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
