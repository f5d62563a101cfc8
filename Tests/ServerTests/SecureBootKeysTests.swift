import Foundation
import Server
import Testing
import TestSupport

/// `warden secureboot init` makes RSA keys the firmware takes, or takes the operator's own,
/// checks before it writes, and never replaces what is there. OpenSSL, not Warden, reads
/// what it wrote.
@Suite struct SecureBootKeysTests {
    func folder(_ name: String) throws -> StateFolder {
        try StateFolder.initialise(at: try TestPaths.temporaryDirectory(name).appendingPathComponent(".warden").path)
    }

    func openssl(_ arguments: [String]) throws -> String {
        let result = try Command.run("openssl", arguments)
        #expect(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.stderr)")
        return result.stdout
    }

    /// SHA-256 of the certificate file's DER, as OpenSSL computes it.
    func fingerprint(_ path: String) throws -> String {
        let line = try openssl(["x509", "-in", path, "-noout", "-fingerprint", "-sha256"])
        return String(line.split(separator: "=").last ?? "").replacingOccurrences(of: ":", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// A self-signed RSA certificate and its key made by OpenSSL, as an operator would bring them.
    func operatorPair(_ name: String, in directory: URL) throws -> (certificate: String, key: String) {
        let key = directory.appendingPathComponent("\(name).key").path
        let certificate = directory.appendingPathComponent("\(name).pem").path
        _ = try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "30",
            "-subj", "/CN=Operator \(name)",
        ])
        return (
            try String(contentsOfFile: certificate, encoding: .utf8), try String(contentsOfFile: key, encoding: .utf8)
        )
    }

    @Test func newKeysAreRSACertificatesOpenSSLReadsAndAreNeverReplaced() throws {
        let state = try folder("secureboot")
        let keys = SecureBootKeys(folder: state)
        #expect(!keys.exist)
        try keys.initialise(SecureBootKeys.Request())
        let entries = try keys.entries()
        #expect(entries.map(\.variable) == [.pk, .kek, .db] && entries.allSatisfy(\.keyHeld))
        for (entry, (certificate, key)) in zip(
            entries,
            [
                (StateFolder.File.secureBootPK, StateFolder.File.secureBootPKKey), (.secureBootKEK, .secureBootKEKKey),
                (.secureBootDB, .secureBootDBKey),
            ])
        {
            let certificatePath = state.url(certificate).path
            #expect(try fingerprint(certificatePath) == entry.sha256)
            let text = try openssl(["x509", "-in", certificatePath, "-noout", "-text"])
            #expect(text.contains("Public-Key: (2048 bit)") && text.contains("sha256WithRSAEncryption"))
            #expect(
                try openssl(["x509", "-in", certificatePath, "-noout", "-pubkey"])
                    == openssl(["pkey", "-in", state.url(key).path, "-pubout"]), "\(entry.variable)'s key is its own")
            var status = stat()
            #expect(stat(state.url(key).path, &status) == 0 && status.st_mode & 0o077 == 0)
        }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: state.path).allSatisfy { !$0.hasPrefix(".secureboot") },
            "no staging folder is left")
        let before = try Data(contentsOf: state.url(.secureBootDBKey))
        #expect(throws: SecureBootKeyError.self) { try keys.initialise(SecureBootKeys.Request()) }
        #expect(try Data(contentsOf: state.url(.secureBootDBKey)) == before)
    }

    /// A `secureboot/` folder that holds anything is never replaced, whatever it holds.
    @Test func aFolderThatHoldsAnythingIsLeftAlone() throws {
        let state = try folder("secureboot-occupied")
        let stray = state.url(.secureBootDBKey)
        try FileManager.default.createDirectory(
            at: stray.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("the operator's own".utf8).write(to: stray)
        #expect(throws: SecureBootKeyError.self) {
            try SecureBootKeys(folder: state).initialise(SecureBootKeys.Request())
        }
        #expect(try Data(contentsOf: stray) == Data("the operator's own".utf8))
        #expect(SecureBootKeys(folder: state).incomplete == false && !SecureBootKeys(folder: state).exist)
    }

    @Test func theOperatorsOwnKeysAreTakenAndAKeyOfAnotherCertificateIsRefused() throws {
        let state = try folder("secureboot-own")
        let directory = try TestPaths.temporaryDirectory("operator-keys")
        let db = try operatorPair("db", in: directory)
        let kek = try operatorPair("kek", in: directory)
        var request = SecureBootKeys.Request()
        request.supplied[.db] = .init(certificatePEM: db.certificate, keyPEM: kek.key)
        let keys = SecureBootKeys(folder: state)
        #expect(throws: SecureBootKeyError.keyDoesNotMatch(.db)) { try keys.initialise(request) }
        #expect(!keys.exist, "nothing was written")
        request.supplied[.db] = .init(certificatePEM: db.certificate, keyPEM: nil)
        #expect(throws: SecureBootKeyError.keyMissing(.db)) { try keys.initialise(request) }
        request.supplied[.db] = .init(certificatePEM: "not a certificate", keyPEM: db.key)
        #expect(throws: SecureBootKeyError.self) { try keys.initialise(request) }
        #expect(!keys.exist)

        request.supplied[.db] = .init(certificatePEM: db.certificate, keyPEM: db.key)
        try keys.initialise(request)
        let entry = try #require(try keys.entries().first { $0.variable == .db })
        #expect(entry.sha256 == (try fingerprint(directory.appendingPathComponent("db.pem").path)))
        #expect(entry.subject.contains("Operator db"))
    }

    @Test func anOfflinePKLeavesNoKeyAndExtraDBCertificatesAreKept() throws {
        let directory = try TestPaths.temporaryDirectory("offline-pk")
        let pk = try operatorPair("pk", in: directory)
        let extraKey = directory.appendingPathComponent("vendor.key").path
        let extraPath = directory.appendingPathComponent("vendor.pem").path
        _ = try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", extraKey,
            "-out", extraPath, "-days", "30", "-subj", "/CN=Vendor UEFI CA",
        ])
        let keys = SecureBootKeys(folder: try folder("secureboot-offline"))
        var request = SecureBootKeys.Request()
        request.offlinePK = true
        #expect(throws: SecureBootKeyError.offlinePKNeedsCertificateOnly) { try keys.initialise(request) }
        request.supplied[.pk] = .init(certificatePEM: pk.certificate, keyPEM: pk.key)
        #expect(throws: SecureBootKeyError.offlinePKNeedsCertificateOnly) { try keys.initialise(request) }
        request.supplied[.pk] = .init(certificatePEM: pk.certificate, keyPEM: nil)
        request.extraDBCertificates = [try String(contentsOfFile: extraPath, encoding: .utf8)]
        try keys.initialise(request)
        #expect(!FileManager.default.fileExists(atPath: keys.folder.url(.secureBootPKKey).path))
        let entries = try keys.entries()
        #expect(entries.map(\.variable) == [.pk, .kek, .db, .db])
        #expect(entries.map(\.keyHeld) == [false, true, true, false])
        #expect(entries.last?.sha256 == (try fingerprint(extraPath)))
    }
}
