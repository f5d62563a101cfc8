import Foundation
import Testing
import TestSupport

/// Private keys never leave their files: with the rack's Secure Boot keys, after an image is
/// added, signed and its signed file stored, and a policy names the rack's keys, no form of
/// the PK, KEK, db or image signing key is in the database, the serve log, an image or the
/// TFTP root (whose signed iPXE carries the db certificate, which the search must find).
@Suite struct PrivateKeyPlacesTests {
    static let keyFiles = ["secureboot/pk.key", "secureboot/kek.key", "secureboot/db.key", "image-signing-rsa.key"]

    /// The forms a key could leak in: its PKCS#8 and PKCS#1 DER, its PEM body's first line,
    /// and its first prime's bytes, as OpenSSL writes them.
    func forms(of key: URL, in folder: URL) throws -> [(String, Data)] {
        var forms: [(String, Data)] = []
        for (name, arguments) in [
            ("PKCS#8", ["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"]),
            ("PKCS#1", ["rsa", "-traditional", "-outform", "DER"]),
        ] {
            let out = folder.appendingPathComponent("form.der")
            let written = try Command.run("openssl", arguments + ["-in", key.path, "-out", out.path])
            #expect(written.status == 0, "\(written.stderr)")
            forms.append((name, try Data(contentsOf: out)))
        }
        let pemLines = try String(contentsOf: key, encoding: .utf8).split(separator: "\n")
        let body = try #require(pemLines.first { !$0.hasPrefix("-----") })
        forms.append(("PEM line", Data(body.utf8)))
        let text = try Command.run("openssl", ["rsa", "-in", key.path, "-noout", "-text"]).stdout
        let prime = text.components(separatedBy: "prime1:").dropFirst().first?.components(separatedBy: "prime2:").first
        let hex = try #require(prime).filter(\.isHexDigit)
        let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { offset -> UInt8? in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
        }
        forms.append(("prime", Data(bytes.drop { $0 == 0 })))
        return forms
    }

    @Test func noPrivateKeyIsInTheDatabaseTheLogOrAnyImage() throws {
        let rig = try SystemRig(environment: [
            "WARDEN_FIRMWARE": TestPaths.packageRoot.appendingPathComponent("Firmware/firmware.yaml").path
        ])
        let state = rig.server.stateDir
        try rig.expectSuccess(
            try Command.run(TestPaths.wardenBinary.path, ["secureboot", "init", "--state-dir", state.path]))
        try rig.server.restart()
        let image = try ImageBootTests.addImage(rig, commandLine: "console=ttyS0")
        #expect(image["secureBootSigned"] != nil, "\(image)")
        try rig.write("name: rack-keys\nsecureBootKeys: rack\n", to: "policy.yaml")
        try rig.expectSuccess(rig.server.cli(["policy", "apply", rig.file("policy.yaml").path]))
        rig.server.stop()

        let keys = Set(Self.keyFiles.map { state.appendingPathComponent($0).standardizedFileURL.path })
        var places: [(String, Data)] = [("serve log", try Data(contentsOf: rig.server.log))]
        let walk = try #require(
            FileManager.default.enumerator(at: state, includingPropertiesForKeys: [.isRegularFileKey]))
        for case let file as URL in walk
        where try file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true
            && !keys.contains(file.standardizedFileURL.path)
        {
            places.append((file.path.replacingOccurrences(of: state.path + "/", with: ""), try Data(contentsOf: file)))
        }
        #expect(places.contains { $0.0.hasPrefix("warden.sqlite") } && places.contains { $0.0.hasPrefix("images/") })

        let der = rig.file("db.der")
        try rig.expectSuccess(
            try Command.run(
                "openssl",
                [
                    "x509", "-in", state.appendingPathComponent("secureboot/db.pem").path, "-outform", "DER", "-out",
                    der.path,
                ]
            ))
        let signedIPXE = try #require(places.first { $0.0 == "tftp/ipxe.efi" })
        #expect(signedIPXE.1.range(of: try Data(contentsOf: der)) != nil, "the search finds the db certificate")

        for key in Self.keyFiles {
            for (form, bytes) in try forms(of: state.appendingPathComponent(key), in: rig.server.folder) {
                #expect(bytes.count >= 64, "\(key) \(form)")
                for (place, contents) in places where contents.range(of: bytes) != nil {
                    Issue.record("\(key) (\(form)) is in \(place)")
                }
            }
        }
    }
}
