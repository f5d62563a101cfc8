import ArgumentParser
import Foundation
import TPM
import WardenCLI
import WardenCrypto

/// `warden-bench stream`: software machines attest without pause against appliances that
/// are already running (the fail-over lab's load), each attempt written down as it ends, so
/// that the lab can tell which releases were acknowledged and when attestations were refused.
struct BenchStreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Attest without pause against running appliances, one line per attempt.",
        discussion: """
            Every line of --out is `START END ok MACHINE SERVER NONCE` (the nonce of a release the machine received, \
            hex) or `START END refused MACHINE SERVER REASON`, times in seconds since 1970. `streaming` is printed \
            once every machine has attested once; the stream ends when --stop-file exists.
            """
    )

    @Option(
        name: .customLong("server"),
        help: "An appliance's https:// URL; repeat for each. Machine i uses the i-th modulo their number.")
    var servers: [String] = []

    @Option(help: "The first appliance's state folder: its operator enrols the machines, its ca.pem checks servers.")
    var stateDir: String

    @Option(help: "Machines attesting at once.")
    var machines = 20

    @Option(help: "Seconds each machine waits between attempts.")
    var pause = 0.1

    @Option(help: "Machine names start with this.")
    var prefix = "stream"

    @Option(help: "The stream ends when this file exists.")
    var stopFile: String

    @Option(help: "Where the attempts are written (one line each).")
    var out: String

    func validate() throws {
        guard !servers.isEmpty else { throw ValidationError("name at least one --server") }
        guard (1...500).contains(machines) else { throw ValidationError("--machines takes 1 to 500") }
        guard pause >= 0 else { throw ValidationError("--pause cannot be negative") }
    }

    func run() async throws {
        let journal = try StreamJournal(path: out)
        let machines = try await SimulatedFleet.prepare(
            count: machines, prefix: prefix, scheme: .ecdsa(.sha256),
            scenario: try VerificationScenario(events: BenchAttestCommand.events, akScheme: .ecdsa(.sha256)),
            admin: AdminTarget(server: servers[0], identity: nil, stateDir: stateDir), servers: servers,
            serverCA: stateDir + "/ca.pem")
        FileHandle.standardOutput.write(Data("streaming\n".utf8))
        let stopFile = self.stopFile, pause = self.pause
        await withTaskGroup(of: Void.self) { group in
            for machine in machines {
                group.addTask {
                    while !FileManager.default.fileExists(atPath: stopFile) {
                        let start = Date().timeIntervalSince1970
                        let outcome: String
                        do {
                            let receipt = try await machine.attest()
                            outcome = "ok \(machine.name) \(machine.server) \(Hex.encode(receipt.nonce))"
                        } catch {
                            let reason = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
                            outcome = "refused \(machine.name) \(machine.server) \(reason)"
                        }
                        journal.write(String(format: "%.3f %.3f ", start, Date().timeIntervalSince1970) + outcome)
                        try? await Task.sleep(for: .milliseconds(Int(pause * 1_000)))
                    }
                }
            }
        }
        for machine in machines { await machine.close() }
    }
}

/// Lines appended to a file as they come, from any task.
private final class StreamJournal: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw BenchError("cannot write \(path)")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    func write(_ line: String) {
        lock.withLock { handle.write(Data((line + "\n").utf8)) }
    }
}
