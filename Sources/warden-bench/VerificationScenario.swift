import TPM
import TPMSimulation
import TSS
import WardenCrypto

/// Evidence for the benchmarks: a software AK (RSA-2048 unless told) quoting all 24 PCRs of
/// the sha1 and sha256 banks, and a crypto-agile log, shaped like a UEFI boot, that replays
/// to them. `warden-bench attest`'s machines send the same log and PCR values.
struct VerificationScenario {
    let evidence: Evidence
    /// The log and the PCR values it replays to, for machines that quote them afresh.
    let eventLog: [UInt8]
    let pcrValues: PCRValues
    /// The same quote without its event log: what other verifiers' quote checks do.
    let quoteOnly: Evidence
    let eventCount: Int
    let pcrCount: Int

    init(events: Int, akScheme: SignatureScheme = .rsaPKCS1v15(.sha256)) throws {
        let banks: [DigestAlgorithm] = [.sha1, .sha256]
        var builder = EventLogBuilder(banks: banks)
        Self.firmwareBoot(into: &builder, totalEvents: events)
        let logBytes = builder.log
        let log = try EventLog.parse(logBytes)
        let replay = log.replay()
        let bankSelection = banks.map { PCRSelection.Bank(hash: $0.tpmAlgorithm, pcrs: Array(0...23)) }
        let values = bankSelection.flatMap { bank in
            bank.pcrs.map { pcr in
                replay.value(bank: bank.hash, pcr: pcr)
                    ?? log.initialValue(pcr: pcr, size: bank.hash.digestAlgorithm!.digestSize)
            }
        }
        let pcrValues = try PCRValues(selection: PCRSelection(bankSelection), values: values)
        let ak = try SoftwareAttestationKey(scheme: akScheme)
        let nonce = SecureRandom.bytes(32)
        let quote = try ak.quote(
            pcrValues, nonce: nonce, clock: .init(clock: 1, resetCount: 1, restartCount: 0, safe: true))
        let pcrFile = try TPM2ToolsPCRFile.serialize(pcrValues)
        evidence = Evidence(
            attestationKey: ak.publicArea, attest: quote.attest, signature: quote.signature, pcrs: pcrFile,
            eventLog: logBytes, nonce: nonce)
        quoteOnly = Evidence(
            attestationKey: ak.publicArea, attest: quote.attest, signature: quote.signature, pcrs: pcrFile, nonce: nonce
        )
        eventLog = logBytes
        self.pcrValues = pcrValues
        eventCount = log.events.count
        pcrCount = values.count
    }

    /// `iterations` verifications of `evidence` after a warm-up: seconds in all, and the
    /// median and 99th percentile of one, in microseconds.
    func timed(_ evidence: Evidence, iterations: Int) -> (seconds: Double, p50: Double, p99: Double) {
        let verifier = QuoteVerifier()
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        for _ in 0..<(iterations / 10) { _ = verifier.verify(evidence) }  // warm-up
        let clock = ContinuousClock()
        let total = clock.measure {
            for _ in 0..<iterations {
                let start = clock.now
                let verdict = verifier.verify(evidence)
                samples.append((clock.now - start).microseconds)
                guard case .verified = verdict else {
                    fatalError("benchmark evidence was rejected: \(verdict.failures)")
                }
            }
        }
        samples.sort()
        return (total.microseconds / 1e6, samples[samples.count / 2], samples[samples.count * 99 / 100])
    }

    /// Firmware (PCRs 0–7, separators, Secure Boot variables, boot applications), then
    /// boot-loader events in PCRs 8 and 9 until the log holds `totalEvents` events.
    private static func firmwareBoot(into builder: inout EventLogBuilder, totalEvents: Int) {
        func utf16(_ s: String) -> [UInt8] { s.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] } + [0, 0] }
        let global = UEFIVariable.globalVariableGUID
        let security = UEFIVariable.imageSecurityDatabaseGUID
        builder.measure(pcr: 0, type: .sCRTMVersion, data: utf16("Warden bench firmware 1.0"))
        for blob in 0..<4 {
            builder.measure(
                pcr: 0, type: .efiPlatformFirmwareBlob, data: [UInt8(blob)] + [UInt8](repeating: 0, count: 15))
        }
        builder.measure(
            pcr: 7, type: .efiVariableDriverConfig,
            data: UEFIVariable.encode(guid: global, name: "SecureBoot", data: [1]))
        for (guid, name) in [(global, "PK"), (global, "KEK"), (security, "db"), (security, "dbx")] {
            builder.measure(
                pcr: 7, type: .efiVariableDriverConfig,
                data: UEFIVariable.encode(guid: guid, name: name, data: [UInt8](repeating: 0x5a, count: 600)))
        }
        for driver in 0..<6 {
            builder.measure(pcr: 2, type: .efiBootServicesDriver, data: [UInt8](repeating: UInt8(driver), count: 48))
        }
        builder.measure(
            pcr: 1, type: .efiVariableBoot,
            data: UEFIVariable.encode(guid: global, name: "BootOrder", data: [0, 0, 1, 0]))
        builder.measure(pcr: 4, type: .efiAction, data: Array("Calling EFI Application from Boot Option".utf8))
        for pcr in 0...7 { builder.measure(pcr: pcr, type: .separator, data: [0, 0, 0, 0]) }
        for application in 0..<3 {
            builder.measure(
                pcr: 4, type: .efiBootServicesApplication, data: [UInt8](repeating: UInt8(application), count: 80))
        }
        builder.measure(pcr: 5, type: .efiAction, data: Array("Exit Boot Services Invocation".utf8))
        var counter = 0
        while counter < totalEvents - 31 {  // the header and 30 firmware events above
            builder.measure(pcr: 8 + counter % 2, type: .ipl, data: Array("grub_cmd: set var\(counter)=value".utf8))
            counter += 1
        }
    }
}

/// Runs `openssl speed` and reads its RSA-2048 verification rate.
enum OpenSSLSpeed {
    static func rsa2048VerifiesPerSecond(seconds: Int) throws -> Double {
        let output = try Subprocess.run("/usr/bin/openssl", ["speed", "-seconds", String(seconds), "rsa2048"])
        // "rsa 2048 bits 0.000521s 0.000015s   1919.4  65917.2"
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("rsa 2048 bits") }),
            let rate = line.split(separator: " ").last.flatMap({ Double($0) })
        else { throw BenchError("could not read `openssl speed rsa2048` output") }
        return rate
    }
}

/// A benchmark could not run.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
