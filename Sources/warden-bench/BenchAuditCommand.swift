import ArgumentParser
import Audit
import Foundation
import WardenCLI
import Server
import Store
import TPM

/// `warden-bench audit`: export and verification rates for a large audit chain, each
/// step a separate `warden audit …` process whose time and peak memory are measured.
struct BenchAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Benchmark audit export and offline verification (records per second, peak memory).",
        discussion: """
            Targets on 2 cores: export at least 50,000 records/s, chain and signature verification at least \
            100,000 records/s, full re-verification bounded by the evidence verifier's own rate.
            """
    )

    @Option(help: "Records in the chain.") var records = 1_000_000
    @Option(help: "Real attestations among them (software TPM identities; one in ten refused).") var attestations =
        2_000
    @Option(help: "Sign a checkpoint every this many records.") var checkpointInterval = 1_000
    @Option(help: "Where to build the state folder and bundle (default: a new temporary folder).") var workDir: String?
    @Flag(help: "Keep the work folder.") var keep = false
    @Option(name: [.customShort("o"), .long]) var format: OutputFormat = .text

    func validate() throws {
        guard records >= attestations * 2, attestations >= 1 else {
            throw ValidationError("--records must be at least twice --attestations")
        }
    }

    func run() async throws {
        let work = workDir ?? NSTemporaryDirectory() + "warden-bench-audit-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: work) } }
        let stateDir = work + "/state", bundle = work + "/audit.tar.gz", publicKey = work + "/audit-key.pem"

        let clock = ContinuousClock()
        let started = clock.now
        let generated = try await AuditWorkload(
            stateDir: stateDir, records: records, attestations: attestations,
            checkpointInterval: Int64(checkpointInterval)
        ).generate()
        let generation = (clock.now - started).microseconds / 1e6
        let state = try StateFolder.existing(at: stateDir)
        try state.auditKey().publicKey.pem.write(toFile: publicKey, atomically: true, encoding: .utf8)

        let warden = try PinnedProcess.warden
        let export = try measured(warden, ["audit", "export", "--local", "--state-dir", stateDir, "--out", bundle])
        let chain = try measured(warden, ["audit", "verify", bundle, "--key", publicKey, "--no-reverify"])
        let full = try measured(warden, ["audit", "verify", bundle, "--key", publicKey])
        let report = BenchAuditReport(
            records: generated.records, attestations: generated.attestations, refused: generated.refused,
            generationSeconds: generation,
            bundleBytes: (try? FileManager.default.attributesOfItem(atPath: bundle)[.size] as? Int) ?? 0,
            export: export, chainVerification: chain, fullVerification: full,
            verifierQuotesPerSecond: try verifierRate(
                store: EnrolmentStore(path: state.databasePath, key: state.keyEncryptionKey())))
        if !(try format.printed(report)) { print(report.text) }
    }

    private func measured(_ executable: String, _ arguments: [String]) throws -> MeasuredRun {
        let run = try MeasuredRun.run(executable, arguments)
        guard run.status == 0 else {
            throw BenchError("warden \(arguments.prefix(2).joined(separator: " ")) exited with \(run.status)")
        }
        return run
    }

    /// The evidence verifier's own rate on one core: the first attestation's quote checked
    /// over and over for two seconds, as re-verification checks each.
    private func verifierRate(store: EnrolmentStore) throws -> Double {
        guard let evidence = try store.readAudit({ try $0.attestation(id: 1) })?.evidence else { return 0 }
        var quote = evidence.evidence
        quote.eventLog = nil
        let verifier = QuoteVerifier()
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        while clock.now - start < .seconds(2) {
            guard case .verified = verifier.verify(quote) else {
                throw BenchError("the generated quote does not verify")
            }
            count += 1
        }
        return Double(count) / ((clock.now - start).microseconds / 1e6)
    }
}

/// `warden-bench audit`'s figures.
struct BenchAuditReport: Encodable {
    let records: Int64
    let attestations: Int
    let refused: Int
    let generationSeconds: Double
    let bundleBytes: Int
    let export: MeasuredRun
    let chainVerification: MeasuredRun
    let fullVerification: MeasuredRun
    let verifierQuotesPerSecond: Double
    let exportRecordsPerSecond: Double
    let chainRecordsPerSecond: Double
    let fullRecordsPerSecond: Double
    /// Attestations re-verified per second: the time full verification takes beyond the
    /// chain check, which includes one more decompression pass over the whole bundle.
    let reverifiedPerSecond: Double

    init(
        records: Int64, attestations: Int, refused: Int, generationSeconds: Double, bundleBytes: Int,
        export: MeasuredRun,
        chainVerification: MeasuredRun, fullVerification: MeasuredRun, verifierQuotesPerSecond: Double
    ) {
        self.records = records
        self.attestations = attestations
        self.refused = refused
        self.generationSeconds = generationSeconds
        self.bundleBytes = bundleBytes
        self.export = export
        self.chainVerification = chainVerification
        self.fullVerification = fullVerification
        self.verifierQuotesPerSecond = verifierQuotesPerSecond
        exportRecordsPerSecond = Double(records) / export.seconds
        chainRecordsPerSecond = Double(records) / chainVerification.seconds
        fullRecordsPerSecond = Double(records) / fullVerification.seconds
        reverifiedPerSecond = Double(attestations) / max(0.001, fullVerification.seconds - chainVerification.seconds)
    }

    var text: String {
        func row(_ name: String, _ run: MeasuredRun, _ rate: Double) -> String {
            "\(name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(String(format: "%8.2f s %10.0f records/s %7.1f MiB peak %6.2f s CPU", run.seconds, rate, run.maxResidentMiB, run.cpuSeconds))"
        }
        return """
            audit chain: \(records) records, \(attestations) attestations (\(refused) refused), generated in \(String(format: "%.1f", generationSeconds)) s; bundle \(bundleBytes / 1_048_576) MiB
            \(row("export", export, exportRecordsPerSecond))
            \(row("verify (chain, signatures)", chainVerification, chainRecordsPerSecond))
            \(row("verify (with re-verification)", fullVerification, fullRecordsPerSecond))
            re-verification: \(attestations) attestations in \(String(format: "%.2f", fullVerification.seconds - chainVerification.seconds)) s beyond the chain check (one more pass over the bundle included): \(String(format: "%.0f", reverifiedPerSecond))/s; the evidence verifier alone: \(String(format: "%.0f", verifierQuotesPerSecond)) quotes/s
            targets: export ≥ 50,000 records/s, chain verification ≥ 100,000 records/s
            """
    }
}
