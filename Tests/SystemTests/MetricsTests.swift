import Foundation
import Testing
import TestSupport

/// `GET /metrics` as a Prometheus server reads it: parsed by Debian's python3-prometheus-client,
/// every family the service promises, with its labels, and each one moving during one run
/// that attests, refuses, boots over TFTP and HTTP, answers DHCP, trips a rate limit and
/// answers a 503.
@Suite struct MetricsTests {
    /// Family → (its label names, the sum of its samples' values): what the parser read.
    private typealias Scrape = [String: (labels: Set<String>, total: Double)]

    private static let families: [String: Set<String>] = [
        "warden_attestations_total": ["verdict", "reason"], "warden_releases_total": [],
        "warden_attestation_duration_seconds": [], "warden_dhcp_answers_total": ["kind"],
        "warden_tftp_transfers_total": ["result"], "warden_tftp_bytes_total": [],
        "warden_http_requests_total": ["kind", "status"], "warden_http_bytes_total": [],
        "warden_rate_limited_total": ["endpoint"], "warden_unavailable_total": ["listener"],
        "warden_database_transaction_duration_seconds": [], "warden_audit_records_total": [],
        "warden_audit_checkpoint_age_seconds": [], "warden_database_commits_total": [],
        "warden_database_committed_writes_total": [],
    ]

    /// Reads `/metrics` with an operator certificate and parses it with prometheus_client.
    private func scrape(_ rig: SystemRig) throws -> Scrape {
        let operatorIdentity = rig.server.stateDir.appendingPathComponent("operator")
        let fetched = try Command.run(
            "curl",
            [
                "-sS", "--fail", "--cacert", rig.server.serverCA, "--cert", operatorIdentity.path + "/cert.pem",
                "--key",
                operatorIdentity.path + "/key.pem", rig.server.url + "/metrics", "-o", rig.file("metrics.txt").path,
            ])
        try rig.expectSuccess(fetched)
        // Debian's package, for Debian's python (the PATH's may be another).
        let parsed = try Command.run(
            "/usr/bin/python3",
            [
                "-c",
                """
                import json, sys
                from prometheus_client.parser import text_string_to_metric_families
                out = {}
                for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                    labels = sorted({k for s in family.samples for k in s.labels if k not in ("le",)})
                    counted = [s.value for s in family.samples if not s.name.endswith(("_bucket", "_created"))]
                    out[family.name] = {"type": family.type, "labels": labels, "total": sum(counted)}
                json.dump(out, sys.stdout)
                """, rig.file("metrics.txt").path,
            ])
        try rig.expectSuccess(parsed)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [String: Any])
        var result: Scrape = [:]
        for (name, value) in object {
            guard let fields = value as? [String: Any] else { continue }
            // The parser names a counter's family without its `_total`.
            let type = fields["type"] as? String
            let family = type == "counter" ? name + "_total" : name
            result[family] = (Set(fields["labels"] as? [String] ?? []), fields["total"] as? Double ?? 0)
        }
        return result
    }

    @Test func everyFamilyIsThereAndMoves() throws {
        let boot = try BootScriptTests.BootRig(environment: [
            "WARDEN_RATE_LIMIT_PER_SECOND": "0.5", "WARDEN_RATE_LIMIT_BURST": "50",
            "WARDEN_AUDIT_CHECKPOINT_INTERVAL": "2", "WARDEN_MAX_BODY_BYTES": "262144",
            "WARDEN_MAX_BODY_BYTES_IN_FLIGHT": "1048576",
        ])
        let rig = boot.rig
        let before = try scrape(rig)
        let tpm = try SoftwareTPM()
        try rig.enroll(tpm, as: "node-1", extra: ["--mac", "52:54:00:aa:00:05"])
        try rig.expectSuccess(rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("released").path]))
        try tpm.run("tpm2_pcrextend", ["0:sha256=" + String(repeating: "ef", count: 32)])
        #expect(try rig.server.agent("attest", tcti: tpm.tcti, ["--out", rig.file("refused").path]).status != 0)

        // Booting: a ProxyDHCP answer, iPXE over TFTP, a script and a file over HTTP.
        let log = try String(contentsOf: rig.server.log, encoding: .utf8)
        func port(_ listener: String) -> String {
            let line = log.split(separator: "\n").first { $0.contains(" listener=\(listener) ") } ?? ""
            return line.split(separator: " ").first { $0.hasPrefix("port=") }.map { String($0.dropFirst(5)) } ?? "0"
        }
        let dhcp = try Command.run(
            "python3",
            [
                TestPaths.scripts.appendingPathComponent("pxe-dhcp-client.py").path, port("proxydhcp"), "discover", "7",
                "--vendor", "PXEClient:Arch:00007:UNDI:003016", "--user-class", "iPXE",
            ])
        #expect(dhcp.status == 0 && !dhcp.stdout.contains("\"reply\": null"), "\(dhcp.stdout)\(dhcp.stderr)")
        let tftp = try Command.run(
            "tftp", ["-m", "binary", "127.0.0.1", port("tftp"), "-c", "get", "ipxe.efi", rig.file("ipxe.efi").path])
        #expect(tftp.status == 0, "\(tftp.stderr)")
        _ = try boot.script(mac: "52:54:00:aa:00:05")
        #expect(try boot.get("/ipxe.efi").status == 200)

        // A flood from another loopback address trips the rate limit, not the rig's own.
        for _ in 0..<100 {
            _ = try Command.run(
                "curl",
                [
                    "-s", "-o", "/dev/null", "--interface", "127.0.0.2", "--cacert", rig.server.serverCA,
                    rig.server.url + "/healthz",
                ])
        }
        // A body held open takes the source's share of the body budget: the next gets 503.
        let held = try Command.start(
            "curl",
            [
                "-s", "-o", "/dev/null", "--limit-rate", "1k", "--cacert", rig.server.serverCA, "-H",
                "Content-Type: application/json", "--data-binary", "@" + Self.body(200_000, in: rig).path,
                rig.server.url + "/v1/agent/register",
            ])
        defer { if held.isRunning { kill(held.processIdentifier, SIGKILL) } }
        usleep(1_500_000)
        let busy = try Command.run(
            "curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", rig.server.serverCA, "-H",
                "Content-Type: application/json", "--data-binary", "@" + Self.body(200_000, in: rig).path,
                rig.server.url + "/v1/agent/register",
            ])
        #expect(busy.stdout == "503")
        usleep(1_100_000)

        let after = try scrape(rig)
        for (family, labels) in Self.families {
            guard let seen = after[family] else {
                Issue.record("\(family) is not exposed")
                continue
            }
            #expect(seen.labels == labels, "\(family): labels \(seen.labels)")
            #expect(seen.total != (before[family]?.total ?? 0), "\(family) did not move")
        }
    }

    /// A file of `count` bytes to upload.
    private static func body(_ count: Int, in rig: SystemRig) throws -> URL {
        let file = rig.file("body-\(UUID().uuidString.prefix(8))")
        try Data(repeating: UInt8(ascii: " "), count: count).write(to: file)
        return file
    }
}
