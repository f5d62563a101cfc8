import Foundation
import Octets
import Store
import Testing
import TestSupport
import TPM
import TPMSimulation
import WardenCrypto

/// Secure Boot enrolment from the network, with `warden serve`, the CLI and the real
/// `warden-agent secureboot-enrol` on a software TPM: the firmware's variables are an
/// efivarfs-shaped folder (`NAME-GUID`, four attribute bytes, then the data), and its event
/// log one built event by event, since no firmware runs here (the lab enrols a real OVMF).
@Suite struct SecureBootEnrolmentTests {
    /// A server with the rack's keys, enrolment switched on (its image named `image`).
    static func rig(enrolment: Bool = true, image: String = "enrol") throws -> SystemRig {
        try SystemRig(environment: enrolment ? ["WARDEN_SECURE_BOOT_ENROLMENT_IMAGE": image] : [:]) {
            state, settings in
            let made = try Command.run(
                TestPaths.wardenBinary.path, ["secureboot", "init", "--state-dir", state.path], environment: settings)
            guard made.status == 0 else { throw CommandFailure("secureboot init: \(made.stderr)") }
        }
    }

    /// A firmware's event log whose PCR 7 measures Secure Boot off and PK, KEK, db and dbx
    /// with `pk` as PK's contents (empty: setup mode).
    static func eventLog(pk: [UInt8] = []) -> [UInt8] {
        var builder = EventLogBuilder(banks: [.sha256])
        for (name, data) in [("SecureBoot", [0] as [UInt8]), ("PK", pk), ("KEK", []), ("db", []), ("dbx", [])] {
            let vendor: EFIGUID = name == "db" || name == "dbx" ? .imageSecurityDatabase : .globalVariable
            builder.measure(
                pcr: 7, type: .efiVariableDriverConfig,
                data: UEFIVariable.encode(guid: vendor.description, name: name, data: data))
        }
        builder.measure(pcr: 7, type: .separator, data: [0, 0, 0, 0])
        return builder.log
    }

    /// An efivarfs-shaped folder whose SetupMode variable is `setupMode`.
    static func firmware(in rig: SystemRig, setupMode: UInt8 = 1) throws -> URL {
        let folder = rig.file("efivars-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data([6, 0, 0, 0, setupMode]).write(
            to: folder.appendingPathComponent("SetupMode-\(EFIGUID.globalVariable)"))
        return folder
    }

    func enrol(_ rig: SystemRig, _ tpm: SoftwareTPM, log: [UInt8], firmware: URL) throws -> CommandResult {
        let file = rig.file("eventlog-\(UUID().uuidString.prefix(8)).bin")
        try Data(log).write(to: file)
        return try rig.server.agent(
            "secureboot-enrol", tcti: tpm.tcti, ["--eventlog", file.path, "--efivars", firmware.path])
    }

    /// The variables the agent wrote: name → contents (attributes, then data).
    func written(_ firmware: URL) throws -> [String: [UInt8]] {
        var variables: [String: [UInt8]] = [:]
        for name in [
            "PK-\(EFIGUID.globalVariable)", "KEK-\(EFIGUID.globalVariable)", "db-\(EFIGUID.imageSecurityDatabase)",
        ]
        where FileManager.default.fileExists(atPath: firmware.appendingPathComponent(name).path) {
            variables[String(name.prefix { $0 != "-" })] = try TestPaths.bytes(firmware.appendingPathComponent(name))
        }
        return variables
    }

    @Test func aMachineInSetupModeGetsTheRacksKeysAndIsRecordedAsEnrolledByWarden() throws {
        let rig = try Self.rig()
        let tpm = try SoftwareTPM()
        let firmware = try Self.firmware(in: rig)
        let enrolled = try enrol(rig, tpm, log: Self.eventLog(), firmware: firmware)
        try rig.expectSuccess(enrolled)
        #expect(enrolled.stdout.contains("enrolled the rack's Secure Boot keys (db, KEK, PK) as machine"))

        // Each variable holds the time-based authenticated write of the update `init` signed.
        let variables = try written(firmware)
        #expect(variables.count == 3)
        for name in ["PK", "KEK", "db"] {
            let update = try TestPaths.bytes(rig.server.stateDir.appendingPathComponent("secureboot/\(name).auth"))
            #expect(variables[name] == [0x27, 0, 0, 0] + update, "\(name)")
        }
        let listed = try rig.server.cli(["machine", "list", "--format", "json"])
        let machines = try #require(
            try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        let machine = try #require(machines.first { $0["secureBootEnrolledAt"] != nil }, "\(listed.stdout)")
        let id = try #require(machine["id"] as? Int64)
        let audit = try rig.audit(machine: id)
        #expect(audit.contains { $0.action == "secureboot-enrolment-sent" && $0.details.contains("db sha256") })
        let record = try #require(audit.first { $0.action == "secureboot-enrolled" })
        for name in ["db", "KEK", "PK"] {
            let digest = Hex.encode(DigestAlgorithm.sha256.hash(Array(variables[name]?.dropFirst(4) ?? [])))
            #expect(record.details.contains("\(name) sha256 \(digest)"), "\(record.details)")
        }

        // A report is taken once: one of updates issued before the enrolment recorded changes nothing.
        try rig.store.recordSecureBootEnrolment(
            machineID: id, issuedAt: Date(timeIntervalSinceNow: -60), enrolmentImage: "enrol", details: "replayed",
            repin: { _ in nil }, actor: "test")
        #expect(try rig.audit(machine: id).filter { $0.action == "secureboot-enrolled" }.count == 1)
        // Adopting it (`machine enroll --discovered`, which the lab runs) keeps the row, and the mark.
        let name = try #require(machine["name"] as? String)
        #expect(try rig.server.cli(["machine", "show", name]).stdout.contains("the rack's keys enrolled by Warden"))
    }

    /// Nothing is sent to a machine whose own log shows a PK (whatever it claims), nor when
    /// its firmware says it is not in setup mode (then it is only registered), nor while
    /// enrolment is off; each time its variables stay as they were.
    @Test func noKeysGoToAMachineNotInSetupModeOrWhileEnrolmentIsOff() throws {
        let rig = try Self.rig()
        let tpm = try SoftwareTPM()
        let firmware = try Self.firmware(in: rig)
        let withPK = try enrol(rig, tpm, log: Self.eventLog(pk: [1, 2, 3, 4]), firmware: firmware)
        #expect(
            withPK.status == 1 && withPK.stderr.contains("its event log shows PK enrolled (4 bytes)"),
            "\(withPK.stderr)")
        #expect(try written(firmware).isEmpty)
        let id = try rig.store.machine(named: try #require(try rig.store.machines().first?.name)).id
        #expect(
            try rig.audit(machine: id).contains {
                $0.action == "refusal"
                    && $0.details.contains("Secure Boot enrolment refused: its event log shows PK enrolled")
            })

        let userMode = try Self.firmware(in: rig, setupMode: 0)
        let registered = try enrol(rig, tpm, log: Self.eventLog(), firmware: userMode)
        try rig.expectSuccess(registered)
        #expect(registered.stdout.contains("not in setup mode; registered as machine \(id)"))
        #expect(try written(userMode).isEmpty)

        let off = try Self.rig(enrolment: false)
        let refused = try enrol(off, tpm, log: Self.eventLog(), firmware: firmware)
        #expect(refused.status == 1 && refused.stderr.contains("switched off"), "\(refused.stderr)")
        #expect(try written(firmware).isEmpty)
    }

    /// An appliance whose release certificate is for another key (issued by the right CA):
    /// what it signs is not what that certificate vouches for, so the agent refuses the
    /// updates, writes nothing, and the refusal is audited.
    @Test func updatesTheReleaseKeyDidNotSignAreRefusedAndAudited() throws {
        let rig = try SystemRig(environment: ["WARDEN_SECURE_BOOT_ENROLMENT_IMAGE": "enrol"]) { state, settings in
            let made = try Command.run(
                TestPaths.wardenBinary.path, ["secureboot", "init", "--state-dir", state.path], environment: settings)
            guard made.status == 0 else { throw CommandFailure("secureboot init: \(made.stderr)") }
            let other = state.deletingLastPathComponent()
            try Data("extendedKeyUsage = 1.3.6.1.5.5.7.3.36\n".utf8).write(to: other.appendingPathComponent("eku.cnf"))
            for step in [
                ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "other.key"],
                ["req", "-new", "-key", "other.key", "-subj", "/CN=Another release key", "-out", "other.csr"],
                [
                    "x509", "-req", "-in", "other.csr", "-CA", state.appendingPathComponent("ca.pem").path, "-CAkey",
                    state.appendingPathComponent("ca.key").path, "-days", "2", "-extfile", "eku.cnf", "-out",
                    state.appendingPathComponent("release.pem").path,
                ],
            ] {
                let done = try Command.run("openssl", step, in: other)
                guard done.status == 0 else { throw CommandFailure("openssl \(step[0]): \(done.stderr)") }
            }
        }
        let tpm = try SoftwareTPM()
        let firmware = try Self.firmware(in: rig)
        let refused = try enrol(rig, tpm, log: Self.eventLog(), firmware: firmware)
        #expect(
            refused.status == 1 && refused.stderr.contains("not signed by Warden's release key"), "\(refused.stderr)")
        #expect(try written(firmware).isEmpty)
        let id = try rig.store.machine(named: try #require(try rig.store.machines().first?.name)).id
        #expect(
            try rig.audit(machine: id).contains {
                $0.action == "refusal" && $0.details.contains("the agent refused the Secure Boot updates it was sent")
            })
        #expect(!(try rig.audit(machine: id).contains { $0.action == "secureboot-enrolled" }))
    }

    /// A machine held to its own first-use pin, enrolled afterwards: only once an operator
    /// gave it the enrolment image (anyone may know its EK); then the pin is replaced, in the
    /// enrolment's transaction and audited, by one whose PCR 7 is predicted from the rack's
    /// keys (no value pinned before enrolment could match).
    @Test func aFirstUsePinIsReplacedByOneThatPredictsPCR7() throws {
        let rig = try Self.rig(image: "node")
        let tpm = try SoftwareTPM()
        let id = try rig.enroll(tpm, as: "node-1")
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("first").path]))
        let before = try rig.server.cli(["policy", "show", "machine-node-1"]).stdout
        #expect(before.contains("    7: ") && !before.contains("secureBootKeys"), "\(before)")

        let firmware = try Self.firmware(in: rig)
        let unasked = try enrol(rig, tpm, log: Self.eventLog(), firmware: firmware)
        #expect(unasked.status == 1 && unasked.stderr.contains("not the enrolment image node"), "\(unasked.stderr)")
        #expect(try written(firmware).isEmpty)
        #expect(try rig.server.cli(["policy", "show", "machine-node-1"]).stdout == before)

        _ = try ImageBootTests.addImage(rig, commandLine: "console=ttyS0 warden.mode=enrol")
        try rig.expectSuccess(rig.server.cli(["machine", "set-image", "node-1", "node"]))
        try rig.expectSuccess(enrol(rig, tpm, log: Self.eventLog(), firmware: firmware))
        let after = try rig.server.cli(["policy", "show", "machine-node-1"]).stdout
        #expect(
            !after.contains("    7: ") && after.contains("secureBootKeys:") && after.contains("    0: "), "\(after)")
        #expect(
            try rig.audit(machine: id).contains {
                $0.action == "policy-pinned" && $0.details.contains("first-use pin replaced at Secure Boot enrolment")
            })
        // A report arriving once the machine no longer boots the enrolment image changes nothing.
        #expect(throws: StoreError.self) {
            try rig.store.recordSecureBootEnrolment(
                machineID: id, issuedAt: Date(), enrolmentImage: "another", details: "late", repin: { _ in nil },
                actor: "test")
        }
    }
}
