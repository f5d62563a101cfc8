import Foundation
import Server
import Testing
import TestSupport

/// `warden secureboot init|show` as an operator runs them on an appliance's state folder.
@Suite struct SecureBootCommandTests {
    func warden(_ arguments: [String]) throws -> CommandResult {
        try Command.run(TestPaths.wardenBinary.path, arguments)
    }

    @Test func initCreatesTheKeysOnceAndShowListsTheirFingerprints() throws {
        let state = try TestPaths.temporaryDirectory("secureboot-cli").appendingPathComponent(".warden").path
        #expect(try warden(["secureboot", "show", "--state-dir", state]).status != 0, "no state folder yet")
        // A state folder as `warden serve` leaves it.
        _ = try StateFolder.initialise(at: state)
        let none = try warden(["secureboot", "show", "--state-dir", state])
        #expect(none.status != 0 && none.stderr.contains("secureboot init"), "\(none.stderr)")

        let offline = try warden(["secureboot", "init", "--state-dir", state, "--offline-pk"])
        #expect(offline.status != 0 && offline.stderr.contains("--pk-cert"), "\(offline.stderr)")
        let created = try warden(["secureboot", "init", "--state-dir", state])
        #expect(created.status == 0, "\(created.stderr)")
        let lines = created.stdout.split(separator: "\n")
        #expect(lines.map { $0.split(separator: "\t").first ?? "" } == ["PK", "KEK", "db"])

        let shown = try warden(["secureboot", "show", "--state-dir", state, "-o", "json"])
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [[String: Any]], "\(shown.stdout)")
        #expect(entries.compactMap { $0["sha256"] as? String } == lines.map { String($0.split(separator: "\t")[1]) })
        #expect(entries.allSatisfy { $0["keyHeld"] as? Bool == true && $0["notAfter"] is String })

        let again = try warden(["secureboot", "init", "--state-dir", state])
        #expect(again.status != 0 && again.stderr.contains("never replaced"), "\(again.stderr)")
    }

    /// With the PK offline: `updates` writes the bundles the PK must sign, the operator signs
    /// them with OpenSSL where the key is, and `complete` writes the updates efitools would
    /// have written with that key; a signature by another key is refused.
    /// An operator may make the rack's keys before the first `warden serve`: the folder is
    /// initialised as serve would, its server certificate naming the configured names.
    @Test func initOnANewFolderInitialisesItAsServeWould() throws {
        let state = try TestPaths.temporaryDirectory("secureboot-new").appendingPathComponent(".warden").path
        let made = try Command.run(
            TestPaths.wardenBinary.path, ["secureboot", "init", "--state-dir", state],
            environment: ["WARDEN_SERVER_NAMES": "10.213.0.1,warden.example"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.split(separator: "\n").map { $0.prefix(3) } == ["PK\t", "KEK", "db\t"], "\(made.stdout)")
        #expect(try StateFolder.existing(at: state).serverCertificateNames() == ["10.213.0.1", "warden.example"])
        #expect(try warden(["secureboot", "init", "--state-dir", state]).status != 0, "keys are never replaced")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/sign-efi-sig-list")))
    func anOfflinePKSignsItsUpdatesWhereItIs() throws {
        let folder = try TestPaths.temporaryDirectory("secureboot-offline-cli")
        let state = folder.appendingPathComponent(".warden").path
        _ = try StateFolder.initialise(at: state)
        func file(_ name: String) -> String { folder.appendingPathComponent(name).path }
        for name in ["pk", "stranger"] {
            let made = try Command.run(
                "openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name)", "-days", "1", "-keyout",
                    file("\(name).key"), "-out", file("\(name).pem"),
                ])
            #expect(made.status == 0, "\(made.stderr)")
        }
        let initialised = try warden([
            "secureboot", "init", "--state-dir", state, "--offline-pk", "--pk-cert", file("pk.pem"),
        ])
        #expect(initialised.status == 0, "\(initialised.stderr)")
        let out = file("updates")
        let time = "2026-12-05T03:30:00Z"
        let written = try warden(["secureboot", "updates", "--state-dir", state, "--out", out, "--time", time])
        #expect(written.status == 0, "\(written.stderr)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        #expect(files == ["PK.esl", "PK.tbs", "KEK.esl", "KEK.tbs", "db.esl", "db.auth"], "\(files)")
        #expect(written.stdout.contains("warden secureboot complete PK --time \(time)"), "\(written.stdout)")

        // A firmware takes one SHA-256 signer whose certificate the signature carries.
        let refused = [
            ("PK", "stranger", "sha256", false), ("PK", "pk", "sha384", false), ("PK", "pk", "sha256", true),
        ]
        for (variable, key, digest, withoutCertificate) in [
            ("PK", "pk", "sha256", false), ("KEK", "pk", "sha256", false),
        ]
            + refused
        {
            let signature = file("\(variable)-\(key)-\(digest)-\(withoutCertificate).p7")
            let signed = try Command.run(
                "openssl",
                [
                    "smime", "-sign", "-binary", "-noattr", "-md", digest, "-in", out + "/\(variable).tbs", "-signer",
                    file("\(key).pem"), "-inkey", file("\(key).key"), "-outform", "DER", "-out", signature,
                ] + (withoutCertificate ? ["-nocerts"] : []))
            #expect(signed.status == 0, "\(signed.stderr)")
            let completed = try warden([
                "secureboot", "complete", variable, "--state-dir", state, "--time", time, "--signature", signature,
                "--out", out,
            ])
            guard key == "pk", digest == "sha256", !withoutCertificate else {
                #expect(
                    completed.status != 0 && completed.stderr.contains("not the PK key's signature"),
                    "\(key) \(digest) \(withoutCertificate)")
                continue
            }
            #expect(completed.status == 0, "\(completed.stderr)")
            let efitools = try Command.run(
                "sign-efi-sig-list",
                [
                    "-g", "57617264-656e-4b65-7973-000000000001", "-t", "2026-12-05 03:30:00", "-c", file("pk.pem"),
                    "-k",
                    file("pk.key"), variable, out + "/\(variable).esl", file("\(variable).efitools.auth"),
                ])
            #expect(efitools.status == 0, "\(efitools.stderr)")
            #expect(
                try TestPaths.bytes(URL(fileURLWithPath: out + "/\(variable).auth"))
                    == TestPaths.bytes(URL(fileURLWithPath: file("\(variable).efitools.auth"))), "\(variable)")
        }
    }
}
