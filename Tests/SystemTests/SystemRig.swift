import Foundation
import Store
import TestSupport
import WardenCrypto

/// A running `warden serve` and what the tests need beside it: the store opened on the
/// same state folder (to read audit records and sealed secrets as an auditor would), and
/// enrolment of software TPMs through the real CLI.
struct SystemRig {
    let server: WardenServerProcess
    let store: EnrolmentStore
    /// The K3s tokens the rig's clusters hold (K3s secure format).
    let token = "K10" + Hex.encode(SecureRandom.bytes(32)) + "::server:" + Hex.encode(SecureRandom.bytes(16))
    let agentToken = "K10" + Hex.encode(SecureRandom.bytes(32)) + "::node:" + Hex.encode(SecureRandom.bytes(16))

    /// `environment` adds WARDEN_* settings of the server; `prepare` fills its state folder
    /// before it starts (given the folder and the settings).
    init(environment: [String: String] = [:], preparing prepare: ((URL, [String: String]) throws -> Void)? = nil)
        throws
    {
        server = try WardenServerProcess(environment: environment, preparing: prepare)
        store = try EnrolmentStoreReader.open(server.stateDir)
        try write(token, to: "token")
        try write(agentToken, to: "agent-token")
        try expectSuccess(
            server.cli([
                "cluster", "add", "rack-a", "--k3s-server", "https://10.0.0.1:6443", "--token-file", file("token").path,
                "--agent-token-file", file("agent-token").path,
            ]))
    }

    /// A file in the server's working folder.
    func file(_ name: String) -> URL { server.folder.appendingPathComponent(name) }

    func write(_ text: String, to name: String) throws { try Data(text.utf8).write(to: file(name)) }

    /// Makes the TPM's EK (tpm2_createek -u) and enrols it with the CLI.
    @discardableResult
    func enroll(_ tpm: SoftwareTPM, as name: String, extra: [String] = []) throws -> Int64 {
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        try expectSuccess(
            server.cli(["machine", "enroll", name, "--ek", tpm.folder.appendingPathComponent("ek.pub").path] + extra))
        return try store.machine(named: name).id
    }

    /// The audit records about machine `id`: (action, details).
    func audit(machine id: Int64) throws -> [(action: String, details: String)] {
        try store.auditRecords(subjectPrefix: "machine/\(id)").map { ($0.action, $0.details) }
    }

    func expectSuccess(_ result: CommandResult) throws {
        guard result.status == 0 else {
            throw CommandFailure("exit \(result.status): \(result.stderr)\(result.stdout)")
        }
    }
}

/// Opens a running server's store the way an auditor on the appliance would.
enum EnrolmentStoreReader {
    static func open(_ state: URL) throws -> EnrolmentStore {
        try EnrolmentStore(
            path: state.appendingPathComponent("warden.sqlite").path,
            key: try KeyEncryptionKey.loadOrCreate(at: state.appendingPathComponent("kek.key").path))
    }
}
