import ArgumentParser
import Foundation
import WardenCLI
import TPM
import TSS
import WardenCrypto

/// `warden-bench verify`: full evidence verification on one thread, against OpenSSL's own
/// RSA-2048 verification rate measured in the same run (`openssl speed rsa2048`); and the
/// quote alone (no event log), to set beside other verifiers' quote checks.
struct BenchVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Benchmark full quote + event-log verification against OpenSSL RSA-2048 verify.",
        discussion: "Pin it to one core for stable figures: taskset -c 0 warden-bench verify"
    )

    @Option(help: "Verifications to time.")
    var iterations = 5_000

    @Option(help: "Events in the synthetic crypto-agile log (sha1 + sha256).")
    var events = 200

    @Option(name: .customLong("openssl-seconds"), help: "Seconds `openssl speed` runs for.")
    var opensslSeconds = 3

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        guard iterations >= 100 else { throw ValidationError("--iterations must be at least 100") }
        guard (40...EventLog.maxEvents).contains(events) else {
            throw ValidationError("--events must be 40 to \(EventLog.maxEvents)")
        }
    }

    func run() throws {
        let scenario = try VerificationScenario(events: events)
        let full = scenario.timed(scenario.evidence, iterations: iterations)
        let quoteOnly = scenario.timed(scenario.quoteOnly, iterations: iterations)
        let peer = try OpenSSLSpeed.rsa2048VerifiesPerSecond(seconds: opensslSeconds)
        let result = BenchVerifyResult(
            iterations: iterations, events: scenario.eventCount, pcrs: scenario.pcrCount, seconds: full.seconds,
            p50Microseconds: full.p50, p99Microseconds: full.p99, quoteOnlyP50Microseconds: quoteOnly.p50,
            quoteOnlyP99Microseconds: quoteOnly.p99,
            opensslRSA2048VerifiesPerSecond: peer
        )
        if !(try format.printed(result)) { print(result.text) }
    }
}

/// One benchmark's figures and the targets they are held to.
struct BenchVerifyResult: Encodable {
    let iterations: Int
    let events: Int
    let pcrs: Int
    let seconds: Double
    let p50Microseconds: Double
    let p99Microseconds: Double
    /// The quote alone (signature, nonce, PCR digest; no event log).
    let quoteOnlyP50Microseconds: Double
    let quoteOnlyP99Microseconds: Double
    let opensslRSA2048VerifiesPerSecond: Double
    let verificationsPerSecond: Double
    /// p50 cost of one full verification in units of one OpenSSL RSA-2048 verification.
    let costInRSAVerifies: Double
    let meetsTargets: Bool

    init(
        iterations: Int, events: Int, pcrs: Int, seconds: Double, p50Microseconds: Double, p99Microseconds: Double,
        quoteOnlyP50Microseconds: Double, quoteOnlyP99Microseconds: Double, opensslRSA2048VerifiesPerSecond: Double
    ) {
        self.iterations = iterations
        self.events = events
        self.pcrs = pcrs
        self.seconds = seconds
        self.p50Microseconds = p50Microseconds
        self.p99Microseconds = p99Microseconds
        self.quoteOnlyP50Microseconds = quoteOnlyP50Microseconds
        self.quoteOnlyP99Microseconds = quoteOnlyP99Microseconds
        self.opensslRSA2048VerifiesPerSecond = opensslRSA2048VerifiesPerSecond
        verificationsPerSecond = Double(iterations) / seconds
        costInRSAVerifies = p50Microseconds * opensslRSA2048VerifiesPerSecond / 1e6
        meetsTargets = costInRSAVerifies <= 10 && p99Microseconds < 1000
    }

    var text: String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        return """
            full verification (RSA-2048 quote over \(pcrs) PCRs in sha1+sha256, \(events)-event crypto-agile log, replay, facts)
              \(iterations) verifications in \(String(format: "%.3f", seconds)) s: \(f(verificationsPerSecond)) verifications/s
              latency p50 \(f(p50Microseconds)) µs, p99 \(f(p99Microseconds)) µs (target p99 < 1000 µs)
            quote only (no event log): p50 \(f(quoteOnlyP50Microseconds)) µs, p99 \(f(quoteOnlyP99Microseconds)) µs \
            = \(String(format: "%.2f", quoteOnlyP50Microseconds * opensslRSA2048VerifiesPerSecond / 1e6)) RSA-2048 verifications
            peer: openssl speed rsa2048: \(f(opensslRSA2048VerifiesPerSecond)) verifies/s (\(f(1e6 / opensslRSA2048VerifiesPerSecond)) µs each)
            ratio: one full verification (p50) = \(String(format: "%.2f", costInRSAVerifies)) RSA-2048 verifications (target ≤ 10)
            \(meetsTargets ? "targets met" : "TARGETS MISSED")
            """
    }
}

extension Duration {
    var microseconds: Double { Double(components.seconds) * 1e6 + Double(components.attoseconds) / 1e12 }
}
