import Foundation
import Testing
import TestSupport

/// `warden serve`'s log: one structured line per attestation, refusal, release, admin call,
/// image or firmware file served and boot script answered, in logfmt or JSON, from the
/// configured level on, and never a secret.
@Suite struct ServerLogTests {
    /// A whole run: attest, refuse, release, admin calls, boot scripts, files, 401s.
    @Test func aRunIsLoggedLineByLineWithoutASecret() throws {
        let boot = try BootScriptTests.BootRig()
        let rig = boot.rig
        let tpm = try SoftwareTPM()
        try rig.enroll(
            tpm, as: "node-1", extra: ["--mac", "52:54:00:aa:00:01", "--cluster", "rack-a", "--role", "agent"])
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("released").path]))
        try tpm.run("tpm2_pcrextend", ["0:sha256=" + String(repeating: "cd", count: 32)])
        #expect(try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("refused").path]).status != 0)
        _ = try boot.script(mac: "52:54:00:aa:00:01")
        #expect(try boot.get("/ipxe.efi").status == 200)
        let anonymous = try Command.run(
            "curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", rig.server.serverCA,
                rig.server.url + "/v1/admin/machines",
            ])
        #expect(anonymous.stdout == "401")
        // An admin call the store cannot carry out: its caller reads "internal error", the
        // operator reads why in the log. So does a refusal whose audit record the store refuses.
        let refusing = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("CREATE TRIGGER refused BEFORE INSERT ON cluster BEGIN SELECT RAISE(ABORT, 'the test refuses it'); END")
            db.execute("CREATE TRIGGER unaudited BEFORE INSERT ON auditRecord WHEN NEW.subject = 'attestation-key/99' OR NEW.action = 'boot-refused' "
                       "BEGIN SELECT RAISE(ABORT, 'the test refuses it'); END")
            db.commit()
            """
        let trigger = try Command.run(
            "python3", ["-c", refusing, rig.server.stateDir.appendingPathComponent("warden.sqlite").path])
        #expect(trigger.status == 0, "\(trigger.stderr)")
        let failed = try rig.server.cli(
            [
                "cluster", "add", "rack-b", "--k3s-server", "https://10.0.0.2:6443", "--token-file",
                rig.file("token").path,
            ])
        #expect(failed.status != 0 && failed.stderr.contains("internal error"), "\(failed.stderr)")
        let challenge = try Command.run(
            "curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", rig.server.serverCA, "-X", "POST",
                "--data", "{\"attestationKeyID\": 99, \"proof\": \"AAAA\"}", rig.server.url + "/v1/agent/challenge",
            ])
        #expect(challenge.stdout == "403")
        try rig.expectSuccess(rig.server.cli(["machine", "revoke", "node-1"]))
        #expect(try boot.script(mac: "52:54:00:aa:00:01").contains("machine node-1 is revoked"))

        // A line is queued as it happens and written by the log's own thread a moment later:
        // the whole run's log is there once the server stopped (it writes every queued line
        // before it exits).
        rig.server.stop()
        let log = try String(contentsOf: rig.server.log, encoding: .utf8)
        let lines = log.split(separator: "\n").map(String.init)
        let structured = /^time=\S+Z level=(trace|debug|info|notice|warning|error|critical) component=\S+ msg=/
        #expect(
            lines.allSatisfy { $0.firstMatch(of: structured) != nil },
            "\(lines.filter { $0.firstMatch(of: structured) == nil })")
        func logged(_ component: String, _ message: String, _ fields: [String] = []) -> Bool {
            lines.contains { line in
                line.contains("component=\(component) msg=\(message)") && fields.allSatisfy(line.contains)
            }
        }
        #expect(
            logged(
                "attestation", "\"attestation passed\"", ["machine=node-1", "policy=\"first use\"", "release=sealed"]))
        #expect(
            logged("attestation", "\"attestation refused\"", ["machine=node-1", "reasons=\"", "PCR 0"]),
            "\(lines.filter { $0.contains("component=attestation") })")
        #expect(
            logged(
                "admin", "\"admin call\"",
                ["method=POST", "path=/v1/admin/machines", "caller=operator/operator", "status=201"]))
        #expect(logged("http", "\"script for 52:54:00:aa:00:01"))
        #expect(logged("http", "\"ipxe.efi to 127.0.0.1"))
        #expect(logged("refusals", "\"admin call refused"), "the anonymous admin call")
        #expect(
            logged(
                "admin", "\"admin call failed\"",
                ["caller=operator/operator", "cause=\"database: ", "the test refuses it"]),
            "\(lines.filter { $0.contains("component=admin") })")
        #expect(
            logged("refusals", "\"refusal not audited\"", ["kind=challenge", "the test refuses it"])
                && logged("refusals", "\"refusal not audited\"", ["kind=boot-refused", "the test refuses it"]),
            "\(lines.filter { $0.contains("component=refusals") })")

        // Nothing secret, in any line: the tokens, the released disk key, every private key.
        let diskKey = try Data(contentsOf: rig.file("released/disk.key"))
        var secrets: [String: String] = [
            "cluster token": rig.token, "agent token": rig.agentToken,
            "disk key (hex)": diskKey.map { String(format: "%02x", $0) }.joined(),
            "disk key (base64)": diskKey.base64EncodedString(),
        ]
        for file in ["ca.key", "client-ca.key", "server.key", "release.key", "audit.key", "operator/key.pem"] {
            let text = try String(contentsOf: rig.server.stateDir.appendingPathComponent(file), encoding: .utf8)
            for (index, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("-----") {
                secrets["\(file) line \(index)"] = String(line.prefix(40))
            }
        }
        let keyEncryptionKey = try Data(contentsOf: rig.server.stateDir.appendingPathComponent("kek.key"))
        secrets["kek.key (hex)"] = keyEncryptionKey.map { String(format: "%02x", $0) }.joined()
        secrets["kek.key (base64)"] = keyEncryptionKey.base64EncodedString()
        let leaked = secrets.filter { log.contains($0.value) }.map(\.key)
        #expect(leaked.isEmpty, "secrets in the log: \(leaked)")
    }

    /// `logFormat: json` makes each line one JSON object; `logLevel` drops the lines below it.
    @Test func jsonLinesAndTheLevel() throws {
        let server = try WardenServerProcess(environment: ["WARDEN_LOG_FORMAT": "json"])
        #expect(try server.cli(["machine", "list"]).status == 0)
        server.stop()
        let lines = try String(contentsOf: server.log, encoding: .utf8).split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        #expect(objects.count == lines.count && !objects.isEmpty, "\(lines)")
        #expect(objects.allSatisfy { ["time", "level", "component", "msg"].allSatisfy($0.keys.contains) })
        #expect(objects.contains { $0["msg"] == "admin call" && $0["path"] == "/v1/admin/machines" })

        let quiet = try WardenServerProcess(environment: ["WARDEN_LOG_LEVEL": "notice"])
        #expect(try quiet.cli(["machine", "list"]).status == 0)
        let text = try String(contentsOf: quiet.log, encoding: .utf8)
        #expect(!text.contains("level=info") && text.contains("level=notice component=server msg=\"serving"), "\(text)")
    }
}
