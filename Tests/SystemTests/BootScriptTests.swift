import Foundation
import Testing
import TestSupport

/// `warden serve`'s boot HTTP service as iPXE meets it, driven by curl: the script follows
/// the machine's record — unknown (recorded as discovered, once), enrolled, revoked — and
/// the firmware the set-up installed comes over HTTP byte for byte.
@Suite struct BootScriptTests {
    struct BootRig {
        let rig: SystemRig
        let port: Int

        /// `environment` adds WARDEN_* settings of the server.
        init(environment: [String: String] = [:]) throws {
            rig = try SystemRig(
                environment: environment.merging([
                    "WARDEN_FIRMWARE": TestPaths.packageRoot.appendingPathComponent("Firmware/firmware.yaml").path
                ]) { $1 })
            port = try rig.server.bootHTTPPort()
        }

        /// The body of `GET path` on the boot HTTP port, and its status.
        func get(_ path: String) throws -> (status: Int, body: String) {
            let out = rig.file("boot-" + UUID().uuidString).path
            let result = try Command.run(
                "curl", ["-sS", "-o", out, "-w", "%{http_code}", "http://127.0.0.1:\(port)" + path])
            guard result.status == 0, let status = Int(result.stdout) else {
                throw CommandFailure("curl \(path): \(result.stderr)")
            }
            return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        }

        func script(mac: String, uuid: String = "") throws -> String {
            try get("/boot.ipxe?mac=\(mac)&uuid=\(uuid)&platform=efi&arch=x86_64").body
        }
    }

    @Test func anUnknownMachineIsRecordedOnceAndSentOn() throws {
        let boot = try BootRig()
        let first = try boot.get("/boot.ipxe")
        #expect(
            first.status == 200
                && first.body.contains(
                    "chain http://127.0.0.1:\(boot.port)/boot.ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}&arch=${buildarch}"
                ))
        let uuid = "4c4c4544-0042-3510-8052-b4c04f4a4e31"
        let recorded = try boot.script(mac: "52:54:00:aa:00:01", uuid: uuid)
        #expect(
            recorded.hasPrefix("#!ipxe\n") && recorded.contains("recorded as boot-525400aa0001")
                && recorded.contains("exit 1"), "\(recorded)")
        for _ in 0..<2 {
            let again = try boot.script(mac: "52:54:00:aa:00:01", uuid: uuid)
            #expect(
                again.contains("machine boot-525400aa0001 waits for an operator") && again.contains("exit 1"),
                "\(again)")
        }
        let listed = try boot.rig.server.cli(["machine", "list", "--format", "json"])
        #expect(listed.status == 0)
        let machines = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(machines.count == 1)
        #expect(
            machines.first?["name"] as? String == "boot-525400aa0001"
                && machines.first?["state"] as? String == "discovered")
        #expect(
            machines.first?["macs"] as? [String] == ["52:54:00:aa:00:01"]
                && machines.first?["smbiosUUID"] as? String == uuid)
        // Something that is not a MAC or a UUID identifies nobody and records nothing.
        let bogus = try boot.get("/boot.ipxe?mac=$(reboot)&uuid=x")
        #expect(bogus.body.contains("chain http://127.0.0.1:\(boot.port)/boot.ipxe?"))
        #expect(try boot.rig.store.machines().count == 1)
    }

    @Test func anEnrolledMachineIsRecognisedAndARevokedOneRefused() throws {
        let boot = try BootRig()
        let tpm = try SoftwareTPM()
        let id = try boot.rig.enroll(tpm, as: "node-1", extra: ["--mac", "52:54:00:aa:00:02"])
        #expect(
            try boot.script(mac: "52:54:00:AA:00:02").contains("machine node-1 is enrolled but has no image assigned"))
        try boot.rig.expectSuccess(boot.rig.server.cli(["machine", "revoke", "node-1"]))
        for _ in 0..<2 {
            let refused = try boot.script(mac: "52:54:00:aa:00:02")
            #expect(
                refused.contains("Warden refuses to boot this machine: machine node-1 is revoked")
                    && refused.contains("goto refused"))
            #expect(!refused.contains("exit"))
        }
        #expect(
            try boot.rig.audit(machine: id).filter { $0.action == "boot-refused" }.count == 1,
            "one refusal per hour is recorded")
    }

    @Test func theInstalledFirmwareIsServedOverHTTP() throws {
        let boot = try BootRig()
        let served = boot.rig.file("ipxe.efi")
        let result = try Command.run(
            "curl", ["-sS", "-o", served.path, "-w", "%{http_code}", "http://127.0.0.1:\(boot.port)/ipxe.efi"])
        #expect(result.stdout == "200")
        #expect(try TestPaths.bytes(served) == TestPaths.bytes(URL(fileURLWithPath: "/usr/lib/ipxe/ipxe.efi")))
        #expect(try boot.get("/../../etc/passwd").status != 200)
    }
}
