import Foundation
import Server
import Testing
import TestSupport
import WardenCrypto

/// The state folder's certificates, checked with openssl: only the server certificate
/// passes as a TLS server under the server CA; the operator's is a client certificate of
/// another CA.
@Suite struct StateFolderTests {
    func openssl(_ arguments: [String]) throws -> CommandResult { try Command.run("openssl", arguments) }

    @Test func firstStartMakesSeparateCAsAndPurposeBoundCertificates() throws {
        let folder = try StateFolder.initialise(
            at: try TestPaths.temporaryDirectory("state").appendingPathComponent(".warden").path)
        func path(_ file: StateFolder.File) -> String { folder.url(file).path }

        #expect(
            try openssl(["verify", "-CAfile", path(.serverCA), "-purpose", "sslserver", path(.serverCertificate)])
                .status == 0)
        #expect(
            try openssl(["verify", "-CAfile", path(.clientCA), "-purpose", "sslclient", path(.operatorCertificate)])
                .status == 0)
        // The operator certificate can never pass as the server.
        #expect(
            try openssl(["verify", "-CAfile", path(.serverCA), "-purpose", "sslserver", path(.operatorCertificate)])
                .status != 0)
        #expect(
            try openssl(["verify", "-CAfile", path(.clientCA), "-purpose", "sslserver", path(.operatorCertificate)])
                .status != 0)
        #expect(
            try openssl(["verify", "-CAfile", path(.serverCA), "-purpose", "sslclient", path(.serverCertificate)])
                .status != 0)

        let names = try openssl(["x509", "-in", path(.serverCertificate), "-noout", "-ext", "subjectAltName"]).stdout
        #expect(names.contains("DNS:localhost") && names.contains("IP Address:127.0.0.1"))
        let subject = try openssl(["x509", "-in", path(.operatorCertificate), "-noout", "-subject"]).stdout
        #expect(subject.contains("OU = operator"))

        for file in StateFolder.File.initialised {
            let mode = try #require(
                try FileManager.default.attributesOfItem(atPath: path(file))[.posixPermissions] as? Int)
            #expect(mode == (file.rawValue.contains("key") ? 0o600 : 0o644), "\(file.rawValue)")
        }
        for key in [StateFolder.File.serverKey, .releaseKey, .imageSigningKey, .auditKey] {
            #expect(try openssl(["pkey", "-in", path(key), "-noout"]).status == 0, "\(key.rawValue)")
        }
        #expect(try openssl(["pkey", "-in", path(.auditKey), "-noout", "-text"]).stdout.contains("ED25519"))
        // The release key's certificate: issued by the server CA, for document signing only,
        // for the release key.
        #expect(try openssl(["verify", "-CAfile", path(.serverCA), path(.releaseCertificate)]).status == 0)
        #expect(
            try openssl(["verify", "-CAfile", path(.serverCA), "-purpose", "sslserver", path(.releaseCertificate)])
                .status != 0)
        #expect(
            try openssl(["x509", "-in", path(.releaseCertificate), "-noout", "-ext", "extendedKeyUsage"]).stdout
                .contains("1.3.6.1.5.5.7.3.36"))
        let certifiedKey = try openssl(["x509", "-in", path(.releaseCertificate), "-noout", "-pubkey"]).stdout
        let releasePublicKey = try openssl(["pkey", "-in", path(.releaseKey), "-pubout"]).stdout
        #expect(certifiedKey == releasePublicKey)
        let release = try folder.releaseKey()
        let digest = Array(repeating: UInt8(7), count: 32)
        #expect(
            try release.publicKey.isValidSignature(
                release.sign(digest: digest, scheme: .ecdsa(.sha256)), digest: digest, scheme: .ecdsa(.sha256)))
        _ = try folder.keyEncryptionKey()
    }

    @Test func laterStartsReuseTheFolder() throws {
        let location = try TestPaths.temporaryDirectory("state").appendingPathComponent(".warden").path
        let first = try StateFolder.initialise(at: location)
        let before = try StateFolder.File.initialised.map { try TestPaths.bytes(first.url($0)) }
        let second = try StateFolder.initialise(at: location)
        #expect(try StateFolder.File.initialised.map { try TestPaths.bytes(second.url($0)) } == before)
    }
}
