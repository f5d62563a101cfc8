import Foundation
import Testing
import TestSupport

/// An auditor exports the audit log through the admin API, then checks the bundle offline
/// with `warden audit verify`, with `openssl` and `sha256sum` alone, and one quote with
/// `tpm2_checkquote`.
@Suite struct AuditExportTests {
    @Test func anAuditorExportsOverTheAPIAndEveryToolAgrees() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        _ = try rig.enroll(tpm, as: "node-1")
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("released").path]))
        try rig.expectSuccess(
            rig.server.cli(["operator", "add", "alice", "--role", "auditor", "--out", rig.file("alice").path]))

        let bundle = rig.file("audit.tar.gz").path
        let export = try rig.server.cli(
            ["audit", "export", "--out", bundle, "--format", "json"], identity: rig.file("alice"))
        try rig.expectSuccess(export)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any])
        #expect(summary["evidenceIncluded"] as? Int == 1 && summary["attestations"] as? Int == 1)

        // The auditor gets the key to pin over the API; it is the appliance's own.
        let key = rig.file("audit-key.pem").path
        let fetched = try rig.server.cli(["audit", "key"], identity: rig.file("alice"))
        try rig.expectSuccess(fetched)
        try Data(fetched.stdout.utf8).write(to: URL(fileURLWithPath: key))
        let ownKey = try Command.run(
            "openssl", ["pkey", "-in", rig.server.stateDir.appendingPathComponent("audit.key").path, "-pubout"])
        #expect(fetched.stdout == ownKey.stdout)
        let der = try Command.run("openssl", ["pkey", "-pubin", "-in", key, "-outform", "DER", "-out", key + ".der"])
        try rig.expectSuccess(der)
        let fingerprint = try Command.run("sha256sum", [key + ".der"]).stdout.prefix(64)
        #expect(fetched.stderr.contains("audit key fingerprint (SHA-256): \(fingerprint)"), "\(fetched.stderr)")

        let verify = try Command.run(TestPaths.wardenBinary.path, ["audit", "verify", bundle, "--key", key])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(
            verify.stdout.contains("verdicts: 1 reproduced by re-verification")
                && verify.stdout.contains("result: everything holds"))
        // Nothing anchored: the bundle holds, but that alone is not a pass.
        let unanchored = try Command.run(TestPaths.wardenBinary.path, ["audit", "verify", bundle])
        #expect(
            unanchored.status == 3 && unanchored.stdout.contains("trust NOT anchored")
                && unanchored.stderr.contains("--allow-unanchored"), "\(unanchored.stderr)")
        let allowed = try Command.run(TestPaths.wardenBinary.path, ["audit", "verify", bundle, "--allow-unanchored"])
        #expect(allowed.status == 0)

        let extracted = rig.file("extracted")
        try FileManager.default.createDirectory(at: extracted, withIntermediateDirectories: true)
        try rig.expectSuccess(try Command.run("tar", ["-xzf", bundle, "-C", extracted.path]))
        try rig.expectSuccess(
            try Command.run(
                "openssl",
                [
                    "pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", "manifest.sha256", "-sigfile",
                    "manifest.sha256.sig",
                ], in: extracted))
        try rig.expectSuccess(try Command.run("sha256sum", ["--quiet", "-c", "manifest.sha256"], in: extracted))
        let evidence = try #require(
            try FileManager.default.contentsOfDirectory(atPath: extracted.appendingPathComponent("evidence").path).first
        )
        let folder = "evidence/\(evidence)/"
        try rig.expectSuccess(
            try Command.run(
                "tpm2_checkquote",
                [
                    "-u", folder + "ak.pub", "-m", folder + "quote.msg", "-s", folder + "quote.sig", "-f",
                    folder + "quote.pcrs", "-g", "sha256", "-q", folder + "nonce",
                ], in: extracted))

        // The export is itself audited, with the auditor as actor; without a certificate, nothing.
        #expect(
            try rig.store.auditRecords(subjectPrefix: "audit").contains {
                $0.action == "audit-export" && $0.actor == "operator/alice"
            })
        for path in ["/v1/admin/audit/export", "/v1/audit/key", "/v1/version"] {
            let anonymous = try Command.run(
                "curl",
                ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", rig.server.serverCA, rig.server.url + path])
            #expect(anonymous.stdout == "401", "\(path)")
        }
    }
}
