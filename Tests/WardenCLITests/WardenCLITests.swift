import Foundation
import Testing
import TestSupport

/// The `warden` binary as a user runs it: files in tpm2-tools' formats, exit statuses, JSON.
@Suite struct WardenCLITests {
    func warden(_ arguments: [String]) throws -> CommandResult {
        try Command.run(TestPaths.wardenBinary.path, arguments)
    }

    func quoteArguments(_ quote: String, ak: String, nonce: String? = nil, log: Bool = false) throws -> [String] {
        let folder = try SwtpmEvidence.directory()
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        var arguments = [
            "quote", "verify", "--ak-public", path("ak_\(ak).pub"), "--message", path("quote_\(quote).msg"),
            "--signature", path("quote_\(quote).sig"), "--pcrs", path("quote_\(quote).pcrs"),
            "--nonce", try nonce ?? SwtpmEvidence.nonceHex("quote_\(quote)"),
        ]
        if log { arguments += ["--eventlog", path("eventlog.bin")] }
        return arguments
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func verifiedQuoteExitsZero() throws {
        let result = try warden(quoteArguments("rsa", ak: "rsa"))
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.hasPrefix("quote verified"))
    }

    @Test func verifiedQuoteWithEventLogAsJSON() throws {
        let result = try warden(quoteArguments("log", ak: "rsa", log: true) + ["--format", "json"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let report = try json(result.stdout)
        #expect(report["verified"] as? Bool == true)
        #expect((report["failures"] as? [Any])?.isEmpty == true)
        let pcrs = try #require(report["pcrs"] as? [String: [String: String]])
        #expect(pcrs["sha256"]?.count == 8 && pcrs["sha1"]?.count == 8)
        let boot = try #require(report["measuredBoot"] as? [String: Any])
        #expect(boot["anchoredPCRs"] as? [Int] == Array(0...7))
        #expect((boot["facts"] as? [String: Any])?["secureBootEnabled"] as? Bool == true)
    }

    @Test func rejectedQuoteExitsOneAndNamesEveryFailure() throws {
        let wrongNonce = String(repeating: "ab", count: 32)
        let result = try warden(quoteArguments("other", ak: "rsa", nonce: wrongNonce) + ["--format", "json"])
        #expect(result.status == 1)
        let report = try json(result.stdout)
        #expect(report["verified"] as? Bool == false)
        let failures = try #require(report["failures"] as? [[String: String]])
        #expect(Set(failures.compactMap { $0["check"] }) == ["signature", "nonce"])
        #expect(failures.allSatisfy { !($0["reason"] ?? "").isEmpty })
        let text = try warden(quoteArguments("other", ak: "rsa", nonce: wrongNonce))
        #expect(text.status == 1 && text.stdout.contains("REJECTED") && text.stdout.contains("✗ nonce"))
    }

    @Test func unreadableInputIsNotARejection() throws {
        var arguments = try quoteArguments("rsa", ak: "rsa")
        arguments[3] = "/nonexistent/ak.pub"
        let result = try warden(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains("/nonexistent/ak.pub"))
    }

    @Test func theNonceCannotBeLeftOut() throws {
        let arguments = try quoteArguments("rsa", ak: "rsa")
        let withoutNonce = Array(arguments.prefix(10))
        #expect(try warden(withoutNonce).status == 64)
        #expect(try warden(Array(arguments.prefix(11)) + ["zz"]).status == 64)
        #expect(try warden(Array(arguments.prefix(11)) + [""]).status == 64)
    }

    @Test(.enabled(if: TestPaths.hasEventLogFixtures, "../shared/fixtures is absent"))
    func eventlogShowJSONMatchesRecordedPCRs() throws {
        let name = "go-tpm-tools--ubuntu-2404-amd-sevsnp.bin"
        let result = try warden([
            "eventlog", "show", TestPaths.eventLogFixtures.appendingPathComponent(name).path, "--format", "json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try json(result.stdout)
        let pcrs = try #require(report["pcrs"] as? [String: [String: String]])
        let expected = try #require(EventLogFixtures.expectedPCRs()[name])
        for (bank, values) in expected {
            for (pcr, value) in values { #expect(pcrs[bank]?[pcr] == value, "\(bank) PCR \(pcr)") }
        }
        let events = try #require(report["events"] as? [[String: Any]])
        #expect(events.count == 117)
        #expect(events.contains { ($0["type"] as? String) == "EV_EFI_BOOT_SERVICES_APPLICATION" })
    }

    @Test func eventlogShowTextAndInvalidLog() throws {
        let folder = try SwtpmEvidence.directory()
        let log = folder.appendingPathComponent("eventlog.bin").path
        let text = try warden(["eventlog", "show", log])
        #expect(text.status == 0)
        #expect(text.stdout.contains("EV_EFI_VARIABLE_DRIVER_CONFIG") && text.stdout.contains("variable = SecureBoot"))
        #expect(text.stdout.contains("Secure Boot: enabled"))
        let bogus = try TestPaths.temporaryDirectory("cli").appendingPathComponent("bogus.bin")
        try Data("not an event log".utf8).write(to: bogus)
        let refused = try warden(["eventlog", "show", bogus.path])
        #expect(refused.status == 1 && refused.stderr.contains("event log invalid"))
    }

    /// The benchmark (`warden-bench`, beside `warden`) runs and reports its figures (its speed
    /// is not asserted here), and `warden` itself carries no benchmark.
    @Test func benchVerifyReports() throws {
        let result = try Command.run(
            TestPaths.benchBinary.path, ["verify", "--iterations", "100", "--openssl-seconds", "1", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try json(result.stdout)
        #expect(report["events"] as? Int == 200 && report["pcrs"] as? Int == 48)
        #expect((report["opensslRSA2048VerifiesPerSecond"] as? Double ?? 0) > 0)
        #expect(try warden(["bench", "verify"]).status != 0, "warden still has a bench command")
    }

    /// `warden-bench attest` takes a machine through a back-to-back and a paced phase against
    /// a real `warden serve`: every attestation it sends (its request encoded once, each
    /// quote's fields put in their places) must pass and be released, or the run fails; the
    /// report sets the paced load against the back-to-back throughput.
    @Test func benchAttestReports() throws {
        let result = try Command.run(
            TestPaths.benchBinary.path,
            ["attest", "--concurrency", "1", "--seconds", "1", "--rate", "20", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let reports = try #require(try json(result.stdout)["reports"] as? [[String: Any]])
        let phases = try #require(reports.first?["phases"] as? [[String: Any]])
        #expect(phases.count == 2 && phases.allSatisfy { ($0["attestations"] as? Int ?? 0) > 0 })
        #expect(phases.last?["offeredRate"] as? Double == 20)
        #expect((reports.first?["pacedLoadShare"] as? Double ?? 0) > 0)
    }
}
