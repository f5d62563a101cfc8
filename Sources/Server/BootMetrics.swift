import Boot
import Metrics
import Synchronization

/// The boot services' counts as metric families, brought up to date at each scrape from
/// their statistics (the Boot module stands on NIO alone and counts for itself):
/// `warden_dhcp_answers_total{kind}`, `warden_tftp_transfers_total{result}`,
/// `warden_tftp_bytes_total`, `warden_http_requests_total{kind,status}`,
/// `warden_http_bytes_total`, and boot HTTP's 503s for lookups over their bound in
/// `warden_unavailable_total`.
public final class BootMetrics: Sendable {
    /// The statistics as last counted.
    private struct Seen {
        var dhcp = ProxyDHCPServer.Statistics()
        var tftp = TFTPServer.Statistics()
        var http = BootHTTPServer.Statistics()
    }

    private let seen = Mutex(Seen())

    public init() {}

    /// Counts what the services did since the last update. The statistics are taken under
    /// the lock: two scrapes at once count each event once, never backwards.
    public func update(
        _ statistics: () -> (
            dhcp: ProxyDHCPServer.Statistics, tftp: TFTPServer.Statistics, http: BootHTTPServer.Statistics
        )
    ) {
        let (before, now) = seen.withLock { seen in
            let (dhcp, tftp, http) = statistics()
            defer { seen = Seen(dhcp: dhcp, tftp: tftp, http: http) }
            return (seen, Seen(dhcp: dhcp, tftp: tftp, http: http))
        }
        let (dhcp, tftp, http) = (now.dhcp, now.tftp, now.http)
        let dhcpKinds: [(String, KeyPath<ProxyDHCPServer.Statistics, Int>)] = [
            ("answered", \.answered), ("ignored", \.ignored), ("malformed", \.malformed),
            ("undeliverable", \.undeliverable),
        ]
        for (kind, field) in dhcpKinds {
            count("warden_dhcp_answers_total", [("kind", kind)], dhcp[keyPath: field] - before.dhcp[keyPath: field])
        }
        let tftpResults: [(String, KeyPath<TFTPServer.Statistics, Int>)] = [
            ("completed", \.completed), ("size-query", \.sizeQueries), ("failed", \.failed), ("refused", \.refused),
            ("malformed", \.malformed),
        ]
        for (result, field) in tftpResults {
            count(
                "warden_tftp_transfers_total", [("result", result)], tftp[keyPath: field] - before.tftp[keyPath: field])
        }
        count("warden_tftp_bytes_total", [], tftp.bytesSent - before.tftp.bytesSent)
        // Refusals, 503s included, by their status below; these are the answers.
        let httpKinds: [(String, Int, KeyPath<BootHTTPServer.Statistics, Int>)] = [
            ("script", 200, \.scripts), ("file", 200, \.files), ("file", 304, \.notModified),
        ]
        for (kind, status, field) in httpKinds {
            count(
                "warden_http_requests_total", [("kind", kind), ("status", String(status))],
                http[keyPath: field] - before.http[keyPath: field])
        }
        for (status, refused) in http.refusedByStatus {
            count(
                "warden_http_requests_total", [("kind", "refused"), ("status", String(status))],
                refused - before.http.refusedByStatus[status, default: 0])
        }
        count("warden_http_bytes_total", [], http.bytesSent - before.http.bytesSent)
        WardenMetrics.unavailable(listener: "boot-http", count: max(http.overloaded - before.http.overloaded, 0))
    }

    private func count(_ label: String, _ dimensions: [(String, String)], _ delta: Int) {
        Counter(label: label, dimensions: dimensions).increment(by: max(delta, 0))
    }
}
