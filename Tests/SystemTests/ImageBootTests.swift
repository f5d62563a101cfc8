import Foundation
import Testing
import TestSupport

/// An operator adds an image with the CLI; the boot server then serves it to the machine
/// it is assigned to, as the catalogue recorded it, signed, and refuses it once changed.
@Suite struct ImageBootTests {
    /// Adds image `node` built from a kernel (`vmlinuz`) and an initrd (`initrd.img`) the rig
    /// writes, with `commandLine`, through the CLI; `image show`'s JSON.
    static func addImage(_ rig: SystemRig, commandLine: String) throws -> [String: Any] {
        try Data((0..<400_000).map { UInt8(truncatingIfNeeded: $0 &* 17) }).write(to: rig.file("vmlinuz"))
        try Data((0..<90_000).map { UInt8(truncatingIfNeeded: $0 &* 5) }).write(to: rig.file("initrd.img"))
        try rig.expectSuccess(
            rig.server.cli([
                "image", "add", "node", "--kernel", rig.file("vmlinuz").path, "--initrd", rig.file("initrd.img").path,
                "--cmdline", commandLine,
            ]))
        let shown = try rig.server.cli(["image", "show", "node", "--format", "json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
    }

    @Test func anAddedImageIsServedSignedAndChainedByItsMachinesScript() throws {
        let boot = try BootScriptTests.BootRig()
        let rig = boot.rig
        let image = try Self.addImage(rig, commandLine: "console=ttyS0,115200 panic=-1 warden.test=1")
        let sha256 = try #require(image["sha256"] as? String)
        #expect(image["commandLine"] as? String == "console=ttyS0,115200 panic=-1 warden.test=1")

        // What is served is what was recorded: bytes, Authenticode (pesign's), signature.
        let efi = rig.file("served.efi"), signature = rig.file("served.efi.sig")
        for (path, file) in [("/images/\(sha256).efi", efi), ("/images/\(sha256).efi.sig", signature)] {
            let fetched = try Command.run(
                "curl", ["-sS", "-o", file.path, "-w", "%{http_code}", "http://127.0.0.1:\(boot.port)" + path])
            #expect(fetched.stdout == "200", "\(path): \(fetched.stderr)")
        }
        #expect(try TestPaths.bytes(efi).count == image["size"] as? Int)
        let pesign = try Command.run("pesign", ["-h", "-d", "sha256", "-i", efi.path])
        #expect(pesign.stdout.contains(try #require(image["authenticodeSHA256"] as? String)))
        let verified = try Command.run(
            "openssl",
            [
                "cms", "-verify", "-binary", "-inform", "DER", "-in", signature.path, "-content", efi.path,
                "-CAfile", rig.server.serverCA, "-purpose", "any", "-out", "/dev/null",
            ])
        #expect(verified.status == 0, "\(verified.stderr)")

        let tpm = try SoftwareTPM()
        try rig.enroll(tpm, as: "node-1", extra: ["--mac", "52:54:00:aa:00:03", "--image", "node"])
        let script = try boot.script(mac: "52:54:00:aa:00:03")
        #expect(
            script.contains(
                "kernel http://127.0.0.1:\(boot.port)/images/\(sha256).efi console=ttyS0,115200 panic=-1 warden.test=1\nboot\n"
            ), "\(script)")
        // Legacy BIOS cannot start a UKI: it gets the kernel and initrd sections, which curl
        // fetches byte for byte as they went in.
        let legacy = try boot.get("/boot.ipxe?mac=52:54:00:aa:00:03&platform=pcbios&arch=i386").body
        let base = "http://127.0.0.1:\(boot.port)/images/\(sha256)"
        #expect(
            legacy.contains(
                "kernel \(base).linux initrd=initrd console=ttyS0,115200 panic=-1 warden.test=1 warden.boot=legacy-bios\n"
                    + "initrd --name initrd \(base).initrd\nboot\n"), "\(legacy)")
        for (served, original) in [("linux", "vmlinuz"), ("initrd", "initrd.img")] {
            let fetched = try Command.run(
                "curl", ["-sS", "-o", rig.file("served.\(served)").path, "-w", "%{http_code}", "\(base).\(served)"])
            #expect(fetched.stdout == "200", "\(served): \(fetched.stderr)")
            #expect(
                try TestPaths.bytes(rig.file("served.\(served)")) == (try TestPaths.bytes(rig.file(original))),
                "\(served) differs")
        }

        let inUse = try rig.server.cli(["image", "remove", "node"])
        #expect(inUse.status == 1 && inUse.stderr.contains("assigned to node-1"))

        // A byte changed on disk: refused, not served.
        let stored = rig.server.stateDir.appendingPathComponent("images/\(sha256).efi").path
        chmod(stored, 0o644)
        let handle = try #require(FileHandle(forUpdatingAtPath: stored))
        try handle.seek(toOffset: 1_000)
        try handle.write(contentsOf: Data([0xA5]))
        try handle.close()
        #expect(try boot.get("/images/\(sha256).efi").status == 500)

        try rig.expectSuccess(rig.server.cli(["machine", "set-image", "node-1", "none"]))
        try rig.expectSuccess(rig.server.cli(["image", "remove", "node"]))
        #expect(!FileManager.default.fileExists(atPath: stored))
        let actions = try rig.store.auditRecords(subjectPrefix: "image/node").map(\.action)
        #expect(actions == ["image-added", "image-removed"])
    }

    /// With the rack's Secure Boot keys, an added image is served to UEFI machines signed
    /// with the db key: the script chains the signed file, which sbsigntool accepts and whose
    /// Authenticode digest is the one the catalogue shows; legacy BIOS keeps the sections.
    @Test func withSecureBootKeysUEFIMachinesAreServedTheSignedImage() throws {
        let rig = try SystemRig(environment: [
            "WARDEN_FIRMWARE": TestPaths.packageRoot.appendingPathComponent("Firmware/firmware.yaml").path
        ])
        let initialised = try Command.run(
            TestPaths.wardenBinary.path, ["secureboot", "init", "--state-dir", rig.server.stateDir.path])
        #expect(initialised.status == 0, "\(initialised.stderr)")
        try rig.server.restart()
        let port = try rig.server.bootHTTPPort()
        let image = try Self.addImage(rig, commandLine: "console=ttyS0")
        let signed = try #require(image["secureBootSigned"] as? [String: Any], "\(image)")
        let sha256 = try #require(image["sha256"] as? String)
        let signedSHA256 = try #require(signed["sha256"] as? String)
        #expect(signedSHA256 != sha256)

        let efi = rig.file("signed.efi")
        let fetched = try Command.run(
            "curl",
            ["-sS", "-o", efi.path, "-w", "%{http_code}", "http://127.0.0.1:\(port)/images/\(signedSHA256).efi"])
        #expect(fetched.stdout == "200", "\(fetched.stderr)")
        let db = rig.server.stateDir.appendingPathComponent("secureboot/db.pem").path
        #expect(try Command.run("sbverify", ["--cert", db, efi.path]).status == 0)
        let pesign = try Command.run("pesign", ["-h", "-d", "sha256", "-i", efi.path])
        #expect(pesign.stdout.contains(try #require(signed["authenticodeSHA256"] as? String)))

        let tpm = try SoftwareTPM()
        try rig.enroll(tpm, as: "node-1", extra: ["--mac", "52:54:00:aa:00:07", "--image", "node"])
        let script = try Command.run(
            "curl", ["-sS", "http://127.0.0.1:\(port)/boot.ipxe?mac=52:54:00:aa:00:07&platform=efi&arch=x86_64"]
        ).stdout
        #expect(script.contains("/images/\(signedSHA256).efi console=ttyS0\n"), "\(script)")
        let legacy = try Command.run(
            "curl", ["-sS", "http://127.0.0.1:\(port)/boot.ipxe?mac=52:54:00:aa:00:07&platform=pcbios&arch=i386"]
        ).stdout
        #expect(legacy.contains("/images/\(sha256).linux"), "\(legacy)")
    }

    /// A legacy BIOS boot is marked by the machine's own attestation — its agent reports the
    /// parameter Warden's legacy script put on the kernel command line — and the mark holds
    /// for that boot (its TPM reset count) only. A script request claiming legacy BIOS, which
    /// anyone on the boot network can send, marks nothing: it is only audited.
    @Test func aLegacyBootIsUnmeasuredAndReleasedOnlyUnderAPolicyThatAllowsIt() throws {
        let boot = try BootScriptTests.BootRig()
        let rig = boot.rig
        try Data(repeating: 1, count: 50_000).write(to: rig.file("vmlinuz"))
        try Data(repeating: 2, count: 20_000).write(to: rig.file("initrd.img"))
        try rig.expectSuccess(
            rig.server.cli([
                "image", "add", "node", "--kernel", rig.file("vmlinuz").path, "--initrd", rig.file("initrd.img").path,
            ]))
        try rig.write("name: legacy\n", to: "legacy.yaml")
        try rig.expectSuccess(rig.server.cli(["policy", "apply", rig.file("legacy.yaml").path]))
        let tpm = try SoftwareTPM()
        let id = try rig.enroll(
            tpm, as: "node-1", extra: ["--mac", "52:54:00:aa:00:07", "--image", "node", "--policy", "legacy"])

        // Forged: a request for node-1's legacy script, then node-1 boots by UEFI and attests.
        #expect(try boot.get("/boot.ipxe?mac=52:54:00:aa:00:07&platform=pcbios&arch=i386").body.contains(".linux"))
        try rig.write("console=ttyS0 BOOT_IMAGE=uki\n", to: "uefi-cmdline")
        try rig.expectSuccess(
            rig.server.agent(
                "attest", tcti: tpm.tcti,
                ["--out", rig.file("uefi").path, "--kernel-command-line", rig.file("uefi-cmdline").path]))
        #expect(
            try rig.audit(machine: id).contains {
                $0.action == "legacy-boot-script" && $0.details.contains("legacy BIOS boot script")
            }, "the forged request is audited")

        // The real legacy boot: its kernel command line carries the parameter.
        let script = try boot.get("/boot.ipxe?mac=52:54:00:aa:00:07&platform=pcbios&arch=i386").body
        let commandLine = try #require(script.split(separator: "\n").first { $0.hasPrefix("kernel ") }).split(
            separator: " "
        ).dropFirst(2).joined(separator: " ")
        try rig.write(commandLine + "\n", to: "legacy-cmdline")
        let legacy = ["--kernel-command-line", rig.file("legacy-cmdline").path]
        let refused = try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("refused").path] + legacy)
        #expect(
            refused.status != 0 && refused.stderr.contains("unmeasured boot")
                && refused.stderr.contains("does not allow unmeasured boots"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: rig.file("refused").path), "nothing was released")

        try rig.write("name: legacy\nunmeasuredBoot: allowed\n", to: "legacy.yaml")
        try rig.expectSuccess(rig.server.cli(["policy", "apply", rig.file("legacy.yaml").path]))
        try rig.expectSuccess(
            rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("released").path] + legacy))
        let shown = try rig.server.cli(["machine", "show", "node-1"])
        #expect(
            shown.stdout.contains("passed (unmeasured)") && shown.stdout.contains("refused (unmeasured)"),
            "\(shown.stdout)")

        // The mark holds for that boot: an attestation of it without the parameter is still
        // unmeasured; the machine's next boot, by UEFI, is not.
        try rig.write("name: legacy\n", to: "legacy.yaml")
        try rig.expectSuccess(rig.server.cli(["policy", "apply", rig.file("legacy.yaml").path]))
        let sameBoot = try rig.server.agent(
            "attest", tcti: tpm.tcti,
            ["--out", rig.file("same-boot").path, "--kernel-command-line", rig.file("uefi-cmdline").path])
        #expect(sameBoot.status != 0 && sameBoot.stderr.contains("unmeasured boot"), "\(sameBoot.stderr)")
        try tpm.reboot()
        try rig.expectSuccess(
            rig.server.agent(
                "attest", tcti: tpm.tcti,
                ["--out", rig.file("measured").path, "--kernel-command-line", rig.file("uefi-cmdline").path]))

        // An auditor re-judges all three verdicts offline: the refusal holds only because the
        // bundle keeps, with its evidence, that the boot was unmeasured.
        try rig.expectSuccess(
            rig.server.cli(["operator", "add", "alice", "--role", "auditor", "--out", rig.file("alice").path]))
        let bundle = rig.file("audit.tar.gz").path
        try rig.expectSuccess(rig.server.cli(["audit", "export", "--out", bundle], identity: rig.file("alice")))
        let key = rig.file("audit-key.pem").path
        try rig.expectSuccess(
            try Command.run(
                "openssl",
                ["pkey", "-in", rig.server.stateDir.appendingPathComponent("audit.key").path, "-pubout", "-out", key]))
        let verify = try Command.run(TestPaths.wardenBinary.path, ["audit", "verify", bundle, "--key", key])
        #expect(
            verify.status == 0 && verify.stdout.contains("verdicts: 5 reproduced by re-verification"),
            "\(verify.stdout)\(verify.stderr)")
        let listing = try Command.run("tar", ["-tzf", bundle])
        #expect(
            listing.stdout.split(separator: "\n").filter { $0.hasSuffix("/boot-reference.json") }.count == 3,
            "\(listing.stdout)")

        // A mark the operator knows to be wrong is cleared, audited: that boot is judged by
        // its evidence alone again.
        let marked = try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("marked").path] + legacy)
        #expect(marked.status != 0 && marked.stderr.contains("unmeasured boot"), "\(marked.stderr)")
        try rig.expectSuccess(rig.server.cli(["machine", "clear-legacy-mark", "node-1"]))
        #expect(try rig.audit(machine: id).last?.action == "legacy-mark-cleared")
        try rig.expectSuccess(
            rig.server.agent(
                "attest", tcti: tpm.tcti,
                ["--out", rig.file("cleared").path, "--kernel-command-line", rig.file("uefi-cmdline").path]))
        #expect(try rig.server.cli(["machine", "clear-legacy-mark", "node-1"]).status == 1, "nothing left to clear")
    }

    @Test func withAgentTheInitrdCarriesTheAgentItsCAAndTheServerURL() throws {
        let boot = try BootScriptTests.BootRig()
        let rig = boot.rig
        let initrd = (0..<90_001).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        try Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0) }).write(to: rig.file("vmlinuz"))
        try Data(initrd).write(to: rig.file("initrd.img"))
        try rig.expectSuccess(
            rig.server.cli([
                "image", "add", "node", "--kernel", rig.file("vmlinuz").path, "--initrd", rig.file("initrd.img").path,
                "--with-agent", "--agent-server", "https://10.213.0.1:8443",
            ]))
        let sha256 = try #require(try rig.store.image(named: "node").sha256 as String?)
        let uki = rig.server.stateDir.appendingPathComponent("images/\(sha256).efi").path
        let section = rig.file("initrd-section")
        let extracted = try Command.run("objcopy", ["-O", "binary", "--only-section=.initrd", uki, section.path])
        #expect(extracted.status == 0, "\(extracted.stderr)")
        let bytes = try TestPaths.bytes(section)
        #expect(Array(bytes.prefix(initrd.count)) == initrd, "the node's own initrd comes first, unchanged")
        try Data(bytes.dropFirst(90_004)).write(to: rig.file("overlay.cpio.gz"))
        let listing = try Command.run(
            "/bin/sh", ["-c", "gzip -dc < overlay.cpio.gz | cpio -it --quiet"], in: rig.server.folder)
        #expect(listing.status == 0, "\(listing.stderr)")
        for file in [
            "usr/bin/warden-agent", "etc/warden/ca.pem", "etc/warden/server", "lib/x86_64-linux-gnu/libtss2-esys.so.0",
        ] {
            #expect(listing.stdout.split(separator: "\n").contains(Substring(file)), "\(file) missing from the overlay")
        }
    }

    @Test func machinesNobodyEnrolledBootTheDiscoveryImageWhenOneIsConfigured() throws {
        let boot = try BootScriptTests.BootRig(environment: ["WARDEN_DISCOVERY_IMAGE": "discovery"])
        let rig = boot.rig
        let missing = try boot.script(mac: "52:54:00:aa:00:10")
        #expect(
            missing.contains("the discovery image discovery is not in the catalogue") && missing.contains("exit 1"),
            "\(missing)")
        try Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0) }).write(to: rig.file("vmlinuz"))
        try Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: rig.file("initrd.img"))
        try rig.expectSuccess(
            rig.server.cli([
                "image", "add", "discovery", "--kernel", rig.file("vmlinuz").path, "--initrd",
                rig.file("initrd.img").path,
                "--cmdline", "console=ttyS0 warden.register=1",
            ]))
        let sha256 = try rig.store.image(named: "discovery").sha256
        for mac in ["52:54:00:aa:00:10", "52:54:00:aa:00:11"] {
            let script = try boot.script(mac: mac)
            #expect(
                script.contains(
                    "kernel http://127.0.0.1:\(boot.port)/images/\(sha256).efi console=ttyS0 warden.register=1"),
                "\(mac): \(script)")
        }
        #expect(try rig.store.machines().map(\.name) == ["boot-525400aa0010", "boot-525400aa0011"])
    }
}
