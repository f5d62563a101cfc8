import Foundation
import Testing
import TestSupport

/// The defects a new operator met around the attestation path, each through the real
/// `warden` and `warden-agent` against a real `warden serve`.
@Suite struct OperatorDayTests {
    /// `--server` names Warden everywhere; a cluster's K3s server is `--k3s-server`, and
    /// Warden's own API is refused as one.
    @Test func aClusterNamesItsK3sServerAndNeverWarden() throws {
        let rig = try SystemRig()
        let token = ["--token-file", rig.file("token").path]
        let sameURL = try rig.server.cli(["cluster", "add", "loop", "--k3s-server", rig.server.url] + token)
        #expect(sameURL.status != 0 && sameURL.stderr.contains("is the Warden server"), "\(sameURL.stderr)")
        // Another name of the same appliance (its certificate's), which only the server knows.
        let ownName = try rig.server.cli(
            ["cluster", "add", "alias", "--k3s-server", "https://localhost:\(rig.server.port)"] + token)
        #expect(
            ownName.status != 0 && ownName.stderr.contains("this Warden appliance's API, not a K3s server"),
            "\(ownName.stderr)")
        // The old spelling is Warden's URL now: without --k3s-server nothing is recorded.
        let oldSpelling = try rig.server.cli(["cluster", "add", "old", "--server", "https://10.0.0.2:6443"] + token)
        #expect(oldSpelling.status != 0 && oldSpelling.stderr.contains("--k3s-server"), "\(oldSpelling.stderr)")

        let listed = try rig.server.cli(["cluster", "list", "--format", "json"])
        try rig.expectSuccess(listed)
        let clusters = try #require(
            try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(clusters.map { $0["name"] as? String } == ["rack-a"])
        #expect(clusters.first?["k3sServer"] as? String == "https://10.0.0.1:6443")
    }

    /// The CLI finds the server as `serve` was started (its variables), as the client file's
    /// context says, or as told; every failure is one line that says what to do.
    @Test func theCLIFollowsTheServersSettingsAndContexts() throws {
        let server = try WardenServerProcess()
        let elsewhere = try TestPaths.temporaryDirectory("operator")
        let clientFile = elsewhere.appendingPathComponent("client.yaml").path
        let warden = { (arguments: [String], environment: [String: String]) in
            try Command.run(
                TestPaths.wardenBinary.path, arguments, in: elsewhere,
                environment: ["WARDEN_CLIENT_CONFIG": clientFile].merging(environment) { $1 })
        }
        let asServed = ["WARDEN_STATE_DIR": server.stateDir.path, "WARDEN_API_PORT": String(server.port)]
        let listed = try warden(["machine", "list"], asServed)
        #expect(listed.status == 0 && listed.stdout.hasPrefix("ID  NAME"), "\(listed.stderr)")

        // No identity where the CLI looked: a plain error (not a usage error), naming the way out.
        let lost = try warden(["machine", "list"], [:])
        #expect(lost.status == 1, "\(lost.stderr)")
        #expect(lost.stderr.contains("no cert.pem in .warden/operator") && lost.stderr.contains("WARDEN_STATE_DIR"))
        let closed = try warden(["machine", "list"], asServed.merging(["WARDEN_URL": "https://127.0.0.1:1"]) { $1 })
        #expect(
            closed.status == 1
                && closed.stderr.contains(
                    "nothing listens on 127.0.0.1:1 (connection refused): is `warden serve` running there? (server URL from WARDEN_URL)"
                ), "\(closed.stderr)")
        let plainHTTP = try warden(
            ["machine", "list", "--server", "https://127.0.0.1:\(try server.bootHTTPPort())"], asServed)
        #expect(plainHTTP.stderr.contains("does not speak TLS"), "\(plainHTTP.stderr)")
        let foreign = elsewhere.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        for file in ["cert.pem", "key.pem"] {
            try FileManager.default.copyItem(
                at: server.stateDir.appendingPathComponent("operator/" + file), to: foreign.appendingPathComponent(file)
            )
        }
        try FileManager.default.copyItem(
            at: server.stateDir.appendingPathComponent("client-ca.pem"), to: foreign.appendingPathComponent("ca.pem"))
        let untrusted = try warden(["machine", "list", "--identity", foreign.path], asServed)
        #expect(
            untrusted.stderr.contains("is not signed by the CA in \(foreign.path)/ca.pem"), "\(untrusted.stderr)")

        // A context, made current by its first `set`: enough on its own.
        try expectSuccess(
            warden(
                ["context", "set", "rack", "--server", server.url, "--identity", server.stateDir.path + "/operator"],
                [:]))
        #expect(try warden(["machine", "list"], [:]).status == 0)
        let current = try warden(["context", "current"], [:])
        #expect(current.stdout.contains("server: \(server.url) (from context rack)"), "\(current.stdout)")
        // The environment outranks the current context; --context outranks the environment.
        let ambient = ["WARDEN_URL": "https://127.0.0.1:1"]
        #expect(try warden(["machine", "list"], ambient).status == 1)
        #expect(try warden(["machine", "list", "--context", "rack"], ambient).status == 0)
        let unknown = try warden(["machine", "list", "--context", "rack-b"], [:])
        #expect(
            unknown.status == 1 && unknown.stderr.contains("no context rack-b in \(clientFile)"), "\(unknown.stderr)")
    }

    /// A second `warden serve` on one state folder stops at once and names the holder.
    @Test func oneStateFolderServesOneProcess() throws {
        let server = try WardenServerProcess()
        // `timeout` bounds a second server that would wrongly start.
        let second = try Command.run(
            "timeout",
            ["60", TestPaths.wardenBinary.path, "serve", "--state-dir", server.stateDir.path],
            environment: server.environment.merging(WardenServerProcess.bootPortsAnywhere) { $1 }.merging([
                "WARDEN_API_PORT": "0"
            ]) { $1 })
        #expect(second.status != 0 && second.status != 124, "\(second.stderr)")
        #expect(
            second.stderr.contains("lock is held by warden serve (pid \(server.pid) on "), "\(second.stderr)")
        // The first one serves on; once it stops, the folder is free again.
        #expect(try server.cli(["machine", "list"]).status == 0)
        try server.restart()
    }

    /// The agent uses the TPM that tpm2-tools would, from `TPM2TOOLS_TCTI`.
    @Test func theAgentFollowsTPM2ToolsTCTI() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        try rig.enroll(tpm, as: "node-1")
        let attested = try Command.run(
            TestPaths.agentBinary.path,
            [
                "attest", "--server", rig.server.url, "--ca", rig.server.serverCA, "--patience", "0", "--out",
                rig.file("released").path,
            ], environment: ["TPM2TOOLS_TCTI": tpm.tcti])
        try rig.expectSuccess(attested)
        #expect(FileManager.default.fileExists(atPath: rig.file("released/disk.key").path))
    }

    /// Applying the same rules again stores nothing; a dry run shows what would change.
    @Test func anUnchangedPolicyMakesNoVersion() throws {
        let rig = try SystemRig()
        try rig.write("name: rack\neventLog: required\n", to: "rack.yaml")
        let first = try rig.server.cli(["policy", "apply", rig.file("rack.yaml").path])
        #expect(first.stdout.contains("policy rack@1 stored"), "\(first.stdout)\(first.stderr)")
        // The same rules, written differently.
        try rig.write("# reviewed\nname: rack\neventLog:   required\n", to: "rack.yaml")
        let again = try rig.server.cli(["policy", "apply", rig.file("rack.yaml").path])
        #expect(
            again.status == 0 && again.stdout.contains("policy rack unchanged: rack@1 has the same rules"),
            "\(again.stdout)")

        try rig.write("name: rack\neventLog: required\nimage: required\n", to: "rack.yaml")
        let dryRun = try rig.server.cli(["policy", "apply", "--dry-run", rig.file("rack.yaml").path])
        #expect(
            dryRun.status == 0 && dryRun.stdout.contains("+ image: required")
                && dryRun.stdout.contains("  eventLog: required")
                && dryRun.stdout.contains("would be stored as rack@2"), "\(dryRun.stdout)")
        let shown = try rig.server.cli(["policy", "show", "rack", "--format", "json"])
        #expect(shown.stdout.contains("\"version\" : 1"), "a dry run stores nothing: \(shown.stdout)")

        let applied = try rig.server.cli(["policy", "apply", rig.file("rack.yaml").path, "--format", "json"])
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(applied.stdout.utf8)) as? [String: Any])
        #expect(answer["outcome"] as? String == "stored")
        #expect((answer["policy"] as? [String: Any])?["version"] as? Int == 2)
        #expect(
            try rig.store.auditRecords(subjectPrefix: "policy/rack").filter { $0.action == "policy-version" }.count == 2
        )
    }

    /// Attestations are found across machines by verdict and time, and each shows its
    /// reasons, policy and boot; messages name machines, not row IDs.
    @Test func attestationsAreListedAndShownByName() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        try rig.enroll(tpm, as: "node-1")
        // A firmware's event log, replayed into the TPM, so that the first attestation passes with it.
        let eventLog = rig.file("eventlog.bin").path
        let extensions = try Command.run(
            "python3", [TestPaths.scripts.appendingPathComponent("make-eventlog.py").path, eventLog])
        try rig.expectSuccess(extensions)
        for argument in extensions.stdout.split(separator: "\n") {
            try rig.expectSuccess(tpm.run("tpm2_pcrextend", [String(argument)]))
        }
        let withLog = ["--eventlog", eventLog]
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("first").path] + withLog))
        try tpm.run("tpm2_pcrextend", ["4:sha256=" + String(repeating: "ab", count: 32)])
        let refused = try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("second").path] + withLog)
        #expect(refused.status != 0)

        let listed = try rig.server.cli(["attestation", "list", "--machine", "node-1", "--format", "json"])
        let all = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(all.map { $0["passed"] as? Bool } == [false, true], "newest first: \(listed.stdout)")
        #expect(all.allSatisfy { $0["machine"] as? String == "node-1" })
        let refusedID = try #require(all.first?["id"] as? Int)
        let passedID = try #require(all.last?["id"] as? Int)
        let onlyRefused = try rig.server.cli(["attestation", "list", "--verdict", "refused"])
        #expect(
            onlyRefused.stdout.contains("node-1") && !onlyRefused.stdout.contains("passed"), "\(onlyRefused.stdout)")
        for window in [["--since", "2999-01-01"], ["--until", "2000-01-01T00:00:00Z"]] {
            let none = try rig.server.cli(["attestation", "list", "--format", "json"] + window)
            let found = try JSONSerialization.jsonObject(with: Data(none.stdout.utf8)) as? [Any]
            #expect(found?.isEmpty == true, "\(window): \(none.stdout)")
        }
        let badTime = try rig.server.cli(["attestation", "list", "--since", "yesterday"])
        #expect(badTime.status == 1 && badTime.stderr.contains("is neither a date"), "\(badTime.stderr)")

        let shown = try rig.server.cli(["attestation", "show", String(refusedID)])
        #expect(
            shown.stdout.contains("machine:     node-1") && shown.stdout.contains("verdict:     refused")
                && shown.stdout.contains("PCR 4") && shown.stdout.contains("boot timeline (")
                && shown.stdout.contains("EV_EFI_BOOT_SERVICES_APPLICATION"), "\(shown.stdout)")

        let approvePassed = try rig.server.cli(["machine", "approve", "node-1", "--attestation", String(passedID)])
        #expect(
            approvePassed.stderr.contains("attestation \(passedID) of node-1 passed: there is nothing to approve"),
            "\(approvePassed.stderr)")
        let missing = try rig.server.cli(["machine", "approve", "node-1", "--attestation", "999999"])
        #expect(missing.stderr.contains("attestation 999999 of node-1"), "\(missing.stderr)")
    }

    /// `image add` checks what the server would refuse before it builds anything (the
    /// missing kernel below is never read), and uploads in constant memory.
    @Test func anImageIsCheckedFirstAndStreamed() throws {
        let rig = try SystemRig()
        let missing = ["--kernel", rig.file("no-kernel").path, "--initrd", rig.file("no-initrd").path]
        let badCommandLine = try rig.server.cli(
            ["image", "add", "node"] + missing + ["--cmdline", "console=ttyS0 $(reboot)"])
        #expect(
            badCommandLine.status == 1 && badCommandLine.stderr.contains("characters a boot script cannot pass on"),
            "\(badCommandLine.stderr)")
        let badName = try rig.server.cli(["image", "add", "node_1"] + missing)
        #expect(badName.stderr.contains("an image name is 1–63 letters"), "\(badName.stderr)")

        // A large initrd (128 MiB): warden's own peak memory stays far below it.
        try Data((0..<400_000).map { UInt8(truncatingIfNeeded: $0 &* 17) }).write(to: rig.file("vmlinuz"))
        try rig.expectSuccess(
            try Command.run(
                "dd", ["if=/dev/urandom", "of=" + rig.file("initrd.img").path, "bs=1M", "count=128", "status=none"]))
        let files = ["--kernel", rig.file("vmlinuz").path, "--initrd", rig.file("initrd.img").path]
        let adding = try Command.start(
            TestPaths.wardenBinary.path,
            ["image", "add", "big"] + files + [
                "--warden-url", rig.server.url, "--state-dir", rig.server.stateDir.path,
            ],
            log: rig.file("image-add.log"))
        var peakKiB = 0
        while adding.isRunning {
            let status =
                (try? String(contentsOfFile: "/proc/\(adding.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            peakKiB = max(peakKiB, line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0)
            usleep(20_000)
        }
        adding.waitUntilExit()
        #expect(
            adding.terminationStatus == 0,
            "\((try? String(contentsOf: rig.file("image-add.log"), encoding: .utf8)) ?? "")")
        #expect(
            peakKiB > 0 && peakKiB < 96 * 1024, "warden image add peaked at \(peakKiB >> 10) MiB for a 128 MiB initrd")
        let again = try rig.server.cli(["image", "add", "big"] + missing)
        #expect(again.stderr.contains("image big exists already"), "\(again.stderr)")
    }

    /// A server that refuses an upload halfway (too large) is heard at once: the CLI stops
    /// sending and says why.
    @Test func anUploadRefusedHalfwayStops() throws {
        let rig = try SystemRig(environment: ["WARDEN_MAX_IMAGE_BYTES": "1048576"])
        try Data((0..<400_000).map { UInt8(truncatingIfNeeded: $0 &* 17) }).write(to: rig.file("vmlinuz"))
        try Data(repeating: 7, count: 8 << 20).write(to: rig.file("initrd.img"))
        let refused = try rig.server.cli([
            "image", "add", "big", "--kernel", rig.file("vmlinuz").path, "--initrd", rig.file("initrd.img").path,
        ])
        #expect(refused.status == 1 && refused.stderr.contains("413"), "\(refused.stderr)")
        #expect(try rig.server.cli(["image", "list", "-o", "json"]).stdout.contains("big") == false)
    }

    /// `warden version` names the client's release and the server's, as the API says it.
    @Test func versionsOfClientServerAndAgent() throws {
        let rig = try SystemRig()
        let text = try rig.server.cli(["version"])
        try rig.expectSuccess(text)
        let json = try rig.server.cli(["version", "--format", "json"])
        let versions = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let client = try #require(versions["client"] as? String)
        let server = try #require(versions["server"] as? [String: Any])
        #expect(server["release"] as? String == client && server["database"] as? String == "sqlite")
        #expect(server["appliance"] as? String == rig.server.environment["WARDEN_APPLIANCE_NAME"])
        #expect(text.stdout.contains("client: warden \(client)") && text.stdout.contains("server: warden \(client)"))
        let agent = try Command.run(TestPaths.agentBinary.path, ["--version"])
        #expect(agent.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == client)
        let offline = try Command.run(TestPaths.wardenBinary.path, ["version", "--client"])
        #expect(offline.status == 0 && offline.stdout == "client: warden \(client)\n")
    }

    private func expectSuccess(_ result: CommandResult) throws {
        guard result.status == 0 else { throw CommandFailure("exit \(result.status): \(result.stderr)") }
    }
}
