import Attestation
import Testing
import TestSupport
import TPM
import TSS

@Suite struct PolicyTests {
    static let zero256 = String(repeating: "0", count: 64)

    func verified(_ quote: String, log: Bool) throws -> VerifiedQuote {
        let files = try QuoteFiles.swtpm(quote, ak: "rsa", eventLog: log)
        guard case .verified(let verified) = QuoteVerifier().verify(files.evidence) else {
            throw PolicyError("swtpm evidence did not verify")
        }
        return verified
    }

    @Test func yamlParsesAndRoundTrips() throws {
        let policy = try Policy(
            yaml: """
                name: rack-a
                pcrs:
                  sha256:
                    0: [\(Self.zero256)]
                    7: ["\(Self.zero256)", "\(String(repeating: "ab", count: 32))"]
                  sha1:
                    4: [\(String(repeating: "1", count: 40))]
                eventLog: required
                secureBoot: optional
                """)
        #expect(policy.name == "rack-a" && policy.eventLog == .required && policy.secureBoot == .optional)
        #expect(policy.pcrs[.sha256]?[7]?.count == 2)
        #expect(try Policy(yaml: policy.yaml) == policy)
    }

    @Test(arguments: [
        ("pcrs: {}\n", "missing"),
        ("name: Rack\n", "name"),
        ("name: a\npcrs: {md5: {0: [\"00\"]}}\n", "bank"),
        ("name: a\npcrs: {sha256: {24: [\"\(zero256)\"]}}\n", "PCR 24"),
        ("name: a\npcrs: {sha256: {x: [\"\(zero256)\"]}}\n", "PCR index"),
        ("name: a\npcrs: {sha256: {0: [\"00\"]}}\n", "hex digest"),
        (
            "name: a\npcrs: {sha256: {0: [\"\(zero256.uppercased().replacingOccurrences(of: "0", with: "A"))\"]}}\n",
            "lowercase"
        ),
        ("name: a\npcrs: {sha256: {0: []}}\n", "allows no value"),
        ("name: a\nsecureBoot: sometimes\n", "secureBoot"),
        ("- just a list\n", "not a policy"),
        ("name: a\nimgae: required\n", "unknown key \"imgae\""),
    ])
    func invalidPoliciesAreRefusedWithTheirReason(yaml: String, reason: String) {
        #expect { try Policy(yaml: yaml) } throws: { error in
            (error as? PolicyError)?.reason.contains(reason) == true
        }
    }

    @Test func oversizedDocumentsAreRefusedBeforeParsing() {
        let huge = "name: a\n#" + String(repeating: "x", count: Policy.maxYAMLSize)
        #expect(throws: PolicyError.self) { try Policy(yaml: huge) }
    }

    @Test func secureBootRequiredImpliesEventLog() throws {
        #expect(try Policy(name: "a", pcrs: [:], secureBoot: .required).eventLog == .required)
    }

    @Test func aPinnedPolicyPassesAndAChangedPCRIsNamed() throws {
        let quote = try verified("rsa24", log: true)
        let policy = try Policy.pinning(quote, name: "first-use")
        #expect(policy.pcrs[.sha256]?.keys.sorted() == Policy.firstUsePCRs)
        #expect(policy.pcrs[.sha1]?.keys.sorted() == Policy.firstUsePCRs)
        #expect(policy.eventLog == .required)
        #expect(policy.failures(of: quote).isEmpty)

        var pcrs = policy.pcrs
        pcrs[.sha256]?[4] = [Self.zero256]
        let changed = try Policy(name: "changed", pcrs: pcrs)
        let failures = changed.failures(of: quote)
        #expect(failures.count == 1)
        #expect(failures.first?.rule == .pcr)
        #expect(failures.first?.reason.contains("PCR 4 (sha256)") == true)
        #expect(failures.first?.reason.contains("expected \(Self.zero256)") == true)
    }

    @Test func pinningNeedsTheFirstUsePCRs() throws {
        #expect { try Policy.pinning(try verified("rsa", log: false), name: "x") } throws: { error in
            (error as? PolicyError)?.reason.contains("8,9,11,12") == true
        }
    }

    @Test func unquotedPCRsEventLogAndSecureBoot() throws {
        let withoutLog = try verified("rsa", log: false)
        let policy = try Policy(name: "strict", pcrs: [.sha256: [10: [Self.zero256]]], secureBoot: .required)
        let rules = policy.failures(of: withoutLog).map(\.rule)
        #expect(rules == [.pcr, .eventLog, .secureBoot])

        let withLog = try verified("log", log: true)
        #expect(try Policy(name: "sb", pcrs: [:], secureBoot: .required).failures(of: withLog).isEmpty)
    }
}
