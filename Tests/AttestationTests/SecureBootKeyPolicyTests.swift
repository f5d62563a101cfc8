import Attestation
import Foundation
import Octets
import Testing
import TestSupport
import TPM
import TPMSimulation
import TSS
import WardenCrypto

/// PCR 7 predicted from a firmware's keys (`secureBootKeys`), judged on a real machine's
/// Secure Boot log (keylime's fixture: a shim boot), whose certificates efitools' own
/// `sig-list-to-certs` and OpenSSL read out, and on logs built event by event.
@Suite(.enabled(if: TestPaths.hasEventLogFixtures, "../shared/fixtures is absent"))
struct SecureBootKeyPolicyTests {
    static let fixture = "keylime--binary_bios_measurements-secureboot.bin"
    let log: EventLog
    let quote: VerifiedQuote

    init() throws {
        let bytes = try EventLogFixtures.bytes(Self.fixture)
        log = try EventLog.parse(bytes)
        quote = try BootChainPolicyTests.quote(log: bytes)
    }

    /// The PCR 7 event measuring the Secure Boot variable `name`.
    func event(_ name: String, _ type: EventType = .efiVariableDriverConfig) throws -> LogEvent {
        try #require(log.events.first { $0.pcr == 7 && $0.type == type && UEFIVariable($0.data)?.name == name })
    }

    /// The SHA-256 fingerprints of the certificates efitools' `sig-list-to-certs` writes out
    /// of `list`, as `openssl x509 -fingerprint -sha256` gives them.
    func fingerprintsByEfitools(_ list: ArraySlice<UInt8>) throws -> Set<String> {
        let folder = try TestPaths.temporaryDirectory("signature-list")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(list).write(to: folder.appendingPathComponent("list.esl"))
        let split = try Command.run(
            "sig-list-to-certs",
            [folder.appendingPathComponent("list.esl").path, folder.appendingPathComponent("cert").path])
        #expect(split.status == 0, "\(split.stderr)")
        var fingerprints: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".der") {
            let printed = try Command.run(
                "openssl",
                [
                    "x509", "-inform", "DER", "-in", folder.appendingPathComponent(file).path, "-noout", "-fingerprint",
                    "-sha256",
                ])
            let hex = try #require(printed.stdout.split(separator: "=").last)
            fingerprints.insert(
                hex.replacingOccurrences(of: ":", with: "").lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
            )
        }
        return fingerprints
    }

    /// The certificates of `name` as the firmware measured them, read by efitools.
    func certificates(_ name: String) throws -> Set<String> {
        try fingerprintsByEfitools(try #require(UEFIVariable(try event(name).data)).data)
    }

    func keys(
        pk: Set<String>? = nil, db: Set<String>? = nil, signers: Set<String>? = nil, dbx: Set<String> = []
    ) throws -> Policy {
        let db = try db ?? certificates("db")
        let keys = try Policy.SecureBootKeySet(
            pk: try pk ?? certificates("PK"), kek: try certificates("KEK"), db: db, signers: signers ?? db, dbx: dbx)
        return try Policy(name: "predicted", pcrs: [:], secureBootKeys: keys)
    }

    @Test func signatureListsReadAsEfitoolsReadsThem() throws {
        for name in ["PK", "KEK", "db"] {
            let variable = try #require(UEFIVariable(try event(name).data))
            let entries = try #require(EFISignatureList.decode(variable.data))
            #expect(!entries.isEmpty && entries.allSatisfy { $0.type == .certificateX509 })
            let ours = Set(entries.map { Hex.encode(DigestAlgorithm.sha256.hash($0.signature)) })
            #expect(ours == (try fingerprintsByEfitools(variable.data)), "\(name)")
        }
        let written = EFISignatureList.encode(certificates: [[1, 2, 3], [4, 5]], owner: .warden)
        #expect(
            EFISignatureList.decode(written)
                == [[1, 2, 3], [4, 5]].map { .init(type: .certificateX509, owner: .warden, signature: $0) })
        for cut in [1, 27, written.count - 1] { #expect(EFISignatureList.decode(written.prefix(cut)) == nil) }
    }

    /// The firmware's own keys pass, down to the db certificate that authorised shim; shim's
    /// own authorities (SbatLevel, its built-in vendor_db) are no db signer of Warden's and
    /// are refused by event, type and variable.
    @Test func theMachinesKeysPassAndEveryOtherAuthorityIsNamed() throws {
        let policy = try keys()
        #expect(policy.secureBoot == .required && policy.eventLog == .required)
        #expect(
            policy.failures(of: quote).map(\.description) == [
                "secureBoot: PCR 7 event 32 (EV_EFI_VARIABLE_AUTHORITY, SbatLevel): an authority other than a db certificate",
                "secureBoot: PCR 7 event 34 (EV_EFI_VARIABLE_AUTHORITY, vendor_db): an authority other than a db certificate",
            ])
    }

    @Test func anotherPlatformKeyIsNamedWithItsEvent() throws {
        let other = String(repeating: "ab", count: 32)
        let found = try certificates("PK")
        let failures = try keys(pk: [other]).failures(of: quote).map(\.description)
        #expect(
            failures.contains(
                "secureBoot: PCR 7 event 5 (EV_EFI_VARIABLE_DRIVER_CONFIG, PK): holds certificates \(found.sorted().joined(separator: ", ")), expected \(other)"
            ), "\(failures)")
    }

    @Test func dbxIsPinnedByTheDigestOfItsMeasurement() throws {
        let measured = Hex.encode(try #require(try event("dbx").digest(.sha256)))
        let other = String(repeating: "cd", count: 32)
        #expect(!(try keys(dbx: [measured]).failures(of: quote).contains { $0.reason.contains("dbx") }))
        #expect(
            try keys(dbx: [other]).failures(of: quote).map(\.reason).contains(
                "PCR 7 event 8 (EV_EFI_VARIABLE_DRIVER_CONFIG, dbx): sha256 \(measured), not a dbx the policy pins (\(other))"
            ))
    }

    @Test func aDbCertificateThatIsNoSignerOfThePolicysIsNamed() throws {
        let authority = try #require(UEFIVariable(try event("db", .efiVariableAuthority).data))
        let signer = Hex.encode(DigestAlgorithm.sha256.hash(authority.data.dropFirst(16)))
        let db = try certificates("db")
        #expect(db.contains(signer))
        let others = db.subtracting([signer])
        try #require(!others.isEmpty)
        #expect(
            try keys(signers: others).failures(of: quote).map(\.reason).contains(
                "PCR 7 event 27 (EV_EFI_VARIABLE_AUTHORITY, db): signed by certificate \(signer), not one of the policy's signers (\(others.sorted().joined(separator: ", ")))"
            ))
    }

    /// Events built one by one: Secure Boot off, a variable left out, a debug-mode action,
    /// an event whose data is not what its digest measures.
    @Test func pcr7HoldsOnlyWhatTheKeysPredict() throws {
        let certificate: [UInt8] = Array("a certificate".utf8)
        let fingerprint = Hex.encode(DigestAlgorithm.sha256.hash(certificate))
        let set = try Policy.SecureBootKeySet(
            pk: [fingerprint], kek: [fingerprint], db: [fingerprint], signers: [fingerprint])
        let policy = try Policy(name: "built", pcrs: [:], secureBootKeys: set)
        func variable(_ name: String, _ data: [UInt8]) -> [UInt8] {
            let vendor: EFIGUID = name == "db" || name == "dbx" ? .imageSecurityDatabase : .globalVariable
            return UEFIVariable.encode(guid: vendor.description, name: name, data: data)
        }
        let list = EFISignatureList.encode(certificates: [certificate])
        func quote(secureBoot: UInt8 = 1, leaving: String? = nil, _ more: (inout EventLogBuilder) -> Void = { _ in })
            throws -> VerifiedQuote
        {
            try BootChainPolicyTests().quote(pcr4: []) { builder in
                let contents = [("SecureBoot", [secureBoot]), ("PK", list), ("KEK", list), ("db", list), ("dbx", [])]
                for (name, data) in contents where name != leaving {
                    builder.measure(pcr: 7, type: .efiVariableDriverConfig, data: variable(name, data))
                }
                builder.measure(pcr: 7, type: .separator, data: [0, 0, 0, 0])
                builder.measure(
                    pcr: 7, type: .efiVariableAuthority, data: variable("db", EFIGUID.warden.bytes + certificate))
                more(&builder)
            }
        }
        #expect(policy.failures(of: try quote()).isEmpty)
        #expect(
            policy.failures(of: try quote(secureBoot: 0)).map(\.reason).contains(
                "PCR 7 event 1 (EV_EFI_VARIABLE_DRIVER_CONFIG, SecureBoot): Secure Boot is off"))
        #expect(
            policy.failures(of: try quote(leaving: "KEK")).map(\.reason) == [
                "PCR 7: no EV_EFI_VARIABLE_DRIVER_CONFIG event measures KEK"
            ])
        let debug = try quote { $0.measure(pcr: 7, type: .efiAction, data: Array("UEFI Debug Mode".utf8)) }
        #expect(
            policy.failures(of: debug).map(\.reason) == [
                "PCR 7 event 8 (EV_EFI_ACTION): not an event the Secure Boot keys predict"
            ])
        let forged = try quote {
            $0.append(
                pcr: 7, type: .efiVariableAuthority, digests: [DigestAlgorithm.sha256.hash([1])],
                data: variable("db", EFIGUID.warden.bytes + certificate))
        }
        #expect(
            policy.failures(of: forged).map(\.reason) == [
                "PCR 7 event 8 (EV_EFI_VARIABLE_AUTHORITY): its data is not the variable its sha256 digest measures"
            ])
    }

    @Test func yamlNamesTheKeysOrTheRacks() throws {
        let fingerprint = String(repeating: "ab", count: 32)
        let rack = try Policy.SecureBootKeySet(
            pk: [fingerprint], kek: [fingerprint], db: [fingerprint], signers: [fingerprint])
        let written = "name: a\nsecureBootKeys: rack\n"
        #expect(Policy.namesRackKeys(written) && !Policy.namesRackKeys("name: a\n"))
        #expect(throws: PolicyError.self) { try Policy(yaml: written) }
        let policy = try Policy(yaml: written, rackKeys: rack)
        #expect(policy.secureBootKeys == rack && policy.secureBoot == .required)
        #expect(try Policy(yaml: policy.yaml) == policy)
        for (yaml, why) in [
            ("name: a\nsecureBootKeys: mine\n", "is not rack"),
            (
                "name: a\nsecureBootKeys: {pk: [\(fingerprint)], kek: [\(fingerprint)], db: [\(fingerprint)], signers: [\(fingerprint)], dbX: []}\n",
                "secureBootKeys.dbX"
            ),
            (
                "name: a\nsecureBootKeys: {pk: [\(fingerprint)], kek: [\(fingerprint)], db: [\(fingerprint)], signers: [\(String(repeating: "cd", count: 32))]}\n",
                "is not in db"
            ),
        ] {
            #expect {
                try Policy(yaml: yaml, rackKeys: rack)
            } throws: { error in
                "\(error)".contains(why)
            }
        }
    }
}
