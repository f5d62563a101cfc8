import Testing
import TestSupport
import TPM
import TPMSimulation
import TSS
import WardenCrypto

/// Forgeries and corruptions, each rejected for its own reason, and never accepted where
/// tpm2_checkquote rejects.
@Suite struct ForgeryTests {
    static let forgeries: [Forgery] = [
        Forgery(
            name: "flipped signature byte",
            make: {
                var files = try Forge.swtpm()
                files.evidence.signature[files.evidence.signature.count - 1] ^= 0x01
                return files
            }, expected: [.signature]),
        Forgery(
            name: "signature by another AK",
            make: {
                var files = try Forge.swtpm("other", ak: "other")
                files.evidence.attestationKey = try SwtpmEvidence.bytes("ak_rsa.pub")
                return files
            }, expected: [.signature]),
        Forgery(
            name: "wrong nonce",
            make: {
                var files = try Forge.swtpm()
                files.nonce = SecureRandom.bytes(32)
                return files
            }, expected: [.nonce]),
        Forgery(
            name: "missing nonce",
            make: {
                try Forge.resigned { Forge.attest($0, extraData: []) }
            }, expected: [.nonce]),
        Forgery(
            name: "wrong magic",
            make: {
                try Forge.resigned { Forge.attest($0, magic: 0xff54_4348) }
            }, expected: [.magic]),
        Forgery(
            name: "wrong attest type",
            make: {
                try Forge.resigned { Forge.attest($0, type: 0x8014) }  // TPM_ST_ATTEST_COMMAND_AUDIT over a quote body
            }, expected: [.attest, .type]),
        Forgery(
            name: "genuine certify presented as a quote",
            make: {
                var files = try Forge.swtpm()
                files.evidence.attest = try SwtpmEvidence.bytes("certify.msg")
                files.evidence.signature = try SwtpmEvidence.bytes("certify.sig")
                files.nonce = Hex.decode(try SwtpmEvidence.nonceHex("certify")) ?? []
                return files
            }, expected: [.type]),
        Forgery(
            name: "selection relabelled, same values (CVE-2024-29038/29039 class)",
            make: {
                try Forge.pcrs(try Forge.swtpm()) { banks, values in
                    (banks.map { PCRSelection.Bank(hash: $0.hash, pcrs: $0.pcrs.map { $0 == 14 ? 15 : $0 }) }, values)
                }
            }, expected: [.pcrSelection]),
        Forgery(
            name: "banks swapped",
            make: {
                try Forge.pcrs(try Forge.swtpm()) { banks, values in
                    let split = banks[0].pcrs.count
                    return ([banks[1], banks[0]], Array(values[split...]) + Array(values[..<split]))
                }
            }, expected: [.pcrSelection, .pcrDigest]),
        Forgery(
            name: "PCR value altered",
            make: {
                try Forge.pcrs(try Forge.swtpm()) { banks, values in
                    var values = values
                    values[3][0] ^= 0xff
                    return (banks, values)
                }
            }, expected: [.pcrDigest]),
        Forgery(
            name: "PCR omitted",
            make: {
                try Forge.pcrs(try Forge.swtpm()) { banks, values in
                    (
                        [banks[0], PCRSelection.Bank(hash: banks[1].hash, pcrs: Array(banks[1].pcrs.dropLast()))],
                        Array(values.dropLast())
                    )
                }
            }, expected: [.pcrSelection, .pcrDigest]),
        Forgery(
            name: "extra PCR",
            make: {
                try Forge.pcrs(try Forge.swtpm()) { banks, values in
                    (
                        [banks[0], PCRSelection.Bank(hash: banks[1].hash, pcrs: banks[1].pcrs + [10])],
                        Array(values.dropLast()) + [[UInt8](repeating: 0, count: 32)] + [values.last!]
                    )
                }
            }, expected: [.pcrSelection, .pcrDigest]),
        Forgery(
            name: "PCR digest over other values",
            make: {
                try Forge.resigned { attest in
                    let quote = attest.quote!
                    return Forge.attest(
                        attest,
                        quote: .some(
                            TPMAttest.QuoteInfo(selection: quote.selection, pcrDigest: DigestAlgorithm.sha256.hash([1]))
                        ))
                }
            }, expected: [.pcrDigest]),
        Forgery(
            name: "unknown signature scheme",
            make: {
                var files = try Forge.swtpm("ecc", ak: "ecc")
                files.evidence.signature[0] = 0x00; files.evidence.signature[1] = 0x1c  // ECSCHNORR
                return files
            }, expected: [.signatureAlgorithm]),
        Forgery(
            name: "unknown signature hash",
            make: {
                var files = try Forge.swtpm()
                files.evidence.signature[2] = 0x00; files.evidence.signature[3] = 0x12  // SM3_256
                return files
            }, expected: [.signatureAlgorithm]),
        Forgery(
            name: "ECDSA signature claimed from an RSA key",
            make: {
                var files = try Forge.swtpm("ecc", ak: "ecc")
                files.evidence.attestationKey = try SwtpmEvidence.bytes("ak_rsa.pub")
                return files
            }, expected: [.signatureAlgorithm]),
        Forgery(
            name: "scheme other than the key's own",
            make: {
                // A genuine RSASSA quote re-labelled RSAPSS: a restricted key signs with one scheme only.
                var files = try Forge.swtpm()
                files.evidence.signature[1] = 0x16
                return files
            }, expected: [.signatureAlgorithm]),
        Forgery(
            name: "RSA key below 2048 bits",
            make: {
                try Forge.resigned(key: try SoftwareAttestationKey(rsaBits: 1024))
            }, expected: [.attestationKey]),
        Forgery(
            name: "key that is not a restricted signing key",
            make: {
                try Forge.resigned(
                    key: try SoftwareAttestationKey(attributes: [
                        .sign, .fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth,
                    ]))
            }, expected: [.attestationKey]),
        Forgery(
            name: "SHA-1 signature and digest without --allow-sha1",
            make: {
                let key = try SoftwareAttestationKey(scheme: .rsaPKCS1v15(.sha1))
                return try Forge.resigned(key: key, hash: "sha1") { attest in
                    let quote = attest.quote!
                    let values = try Forge.swtpm().pcrValues
                    return Forge.attest(
                        attest,
                        quote: .some(
                            TPMAttest.QuoteInfo(selection: quote.selection, pcrDigest: values.compositeDigest(.sha1))))
                }
            }, expected: [.signatureAlgorithm, .pcrDigest]),
        Forgery(
            name: "event log: one digest changed",
            make: {
                try Forge.eventLog { log, bytes in
                    let app = try Forge.event(log) { $0.type == .efiBootServicesApplication }
                    bytes[app.digest(.sha256)!.startIndex] ^= 0x01
                }
            }, expected: [.eventLogReplay]),
        Forgery(
            name: "event log: one event removed",
            make: {
                try Forge.eventLog { log, bytes in
                    let app = try Forge.event(log) { $0.type == .efiBootServicesApplication }
                    bytes.removeSubrange(Forge.range(of: app, in: log))
                }
            }, expected: [.eventLogReplay]),
        Forgery(
            name: "event log: events of one PCR reordered",
            make: {
                try Forge.eventLog { log, bytes in
                    let apps = log.events.filter { $0.type == .efiBootServicesApplication }
                    let (first, second) = (Forge.range(of: apps[0], in: log), Forge.range(of: apps[1], in: log))
                    let swapped =
                        Array(bytes[second]) + Array(bytes[first.upperBound..<second.lowerBound]) + Array(bytes[first])
                    bytes.replaceSubrange(first.lowerBound..<second.upperBound, with: swapped)
                }
            }, expected: [.eventLogReplay]),
        Forgery(
            name: "event log: every event of PCR 4 removed",
            make: {
                try Forge.eventLog { log, bytes in
                    for event in log.events.reversed() where event.pcr == 4 && event.type != .noAction {
                        bytes.removeSubrange(Forge.range(of: event, in: log))
                    }
                }
            }, expected: [.eventLogReplay]),
        Forgery(
            name: "event log: separator data changed, digest kept",
            make: {
                try Forge.eventLog { log, bytes in
                    bytes[try Forge.event(log) { $0.type == .separator }.data.startIndex] = 1
                }
            }, expected: [.eventData]),
        Forgery(
            name: "event log: EFI action text changed, digest kept",
            make: {
                try Forge.eventLog { log, bytes in
                    bytes[try Forge.event(log) { $0.type == .efiAction }.data.startIndex] ^= 0x20
                }
            }, expected: [.eventData]),
        Forgery(
            name: "event log: SecureBoot variable says off, digest kept",
            make: {
                try Forge.eventLog { log, bytes in
                    let secureBoot = try Forge.event(log) {
                        $0.type == .efiVariableDriverConfig && UEFIVariableName.of($0) == "SecureBoot"
                    }
                    bytes[secureBoot.data.endIndex - 1] = 0
                }
            }, expected: [.eventData]),
        Forgery(
            name: "event log from another boot",
            make: {
                var files = try Forge.swtpm("log", log: true)
                var builder = EventLogBuilder(banks: [.sha1, .sha256])
                for pcr in 0...7 { builder.measure(pcr: pcr, type: .separator, data: [0, 0, 0, 0]) }
                files.evidence.eventLog = builder.log
                return files
            }, expected: [.eventLogReplay]),
        Forgery(
            name: "event log truncated",
            make: {
                var files = try Forge.swtpm("log", log: true)
                files.evidence.eventLog = Array(try SwtpmEvidence.bytes("eventlog.bin").dropLast(3))
                return files
            }, expected: [.eventLog]),
    ]

    @Test(arguments: forgeries)
    func forgeryIsRejectedForItsReason(_ forgery: Forgery) throws {
        let files = try forgery.make()
        let verdict = QuoteVerifier().verify(files.evidence)
        guard case .rejected(let rejection) = verdict else {
            Issue.record("\(forgery.name) was accepted")
            return
        }
        #expect(Set(rejection.failures.map(\.check)) == forgery.expected, "\(rejection.failures)")
        #expect(rejection.failures.allSatisfy { !$0.reason.isEmpty })
    }

    /// Wherever tpm2_checkquote (5.4) rejects a forgery, Warden rejects it too; the cases it
    /// accepts are the ones it is known to be lax on. Forgeries of the event log are left
    /// to the checks above: without `-e` the tool never reads it.
    @Test func neverLaxerThanTpm2Checkquote() throws {
        var acceptedByTpm2Tools: [String] = []
        for forgery in Self.forgeries {
            let files = try forgery.make()
            guard files.evidence.eventLog == nil, files.hash != "sha1" else { continue }
            let ours = QuoteVerifier().verify(files.evidence)
            #expect(!ours.failures.isEmpty, "\(forgery.name)")
            if try files.tpm2CheckquoteAccepts() { acceptedByTpm2Tools.append(forgery.name) }
        }
        // tpm2-tools 5.4 predates the fixes for CVE-2024-29038/29039: it checks neither the
        // magic nor the PCR selection; nor does it hold the key to its size, its attributes
        // or its own signature scheme. Warden rejects all of them (above).
        let knownLax: Set<String> = [
            "wrong magic", "selection relabelled, same values (CVE-2024-29038/29039 class)",
            "scheme other than the key's own", "RSA key below 2048 bits", "key that is not a restricted signing key",
        ]
        #expect(Set(acceptedByTpm2Tools).isSubset(of: knownLax), "\(acceptedByTpm2Tools)")
        #expect(
            acceptedByTpm2Tools.contains { $0.contains("CVE-2024-29038") },
            "tpm2_checkquote now checks the selection: update this test")
    }

    @Test func sha1IsAcceptedOnlyWhenAskedFor() throws {
        let files = try Self.forgeries.first { $0.name.hasPrefix("SHA-1") }!.make()
        let verdict = QuoteVerifier(allowSHA1: true).verify(files.evidence)
        #expect(verdict.failures.isEmpty, "\(verdict.failures)")
    }

    /// EV_EFI_VARIABLE_BOOT's digest covers only the variable's data, so real firmware's
    /// logs cannot be checked that way: changing its event data is not reported.
    @Test func bootVariableDataIsNotCheckedAgainstItsDigest() throws {
        let files = try Forge.eventLog { log, bytes in
            bytes[try Forge.event(log) { $0.type == .efiVariableBoot }.data.startIndex] ^= 0x01
        }
        let verdict = QuoteVerifier().verify(files.evidence)
        #expect(verdict.failures.isEmpty)
    }
}

/// The variable name of an EV_EFI_VARIABLE_* event, for finding events in tests.
enum UEFIVariableName {
    static func of(_ event: LogEvent) -> String? { UEFIVariable(event.data)?.name }
}
