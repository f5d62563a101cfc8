import Logging
import Synchronization
import Testing

@testable import Store

/// What the log says of a PostgreSQL outage: one line as requests begin to meet it, one as
/// it ends, and nothing for a connection replaced at once or a database never reached.
@Suite struct PostgresOutageLogTests {
    private let primary = PostgresLocation.Host(name: "db1", port: 5432)
    private let standby = PostgresLocation.Host(name: "db2", port: 5432)

    @Test func anOutageIsLoggedOnceAsItBeginsAndOnceAsItEnds() {
        let lines = CapturedLines()
        let outages = PostgresOutageLog(logger: lines.logger)
        outages.noneWritable("no writable PostgreSQL server: db1:5432: refused", searchBegan: .now)
        #expect(lines.all.isEmpty, "a database never reached: the start's own error says so")

        outages.writable(primary)
        outages.lost("the server closed the connection")
        outages.writable(primary)
        #expect(lines.all.isEmpty, "a connection lost and replaced at once is no outage")

        outages.lost("the server closed the connection")
        for _ in 0..<3 {
            outages.noneWritable(
                "no writable PostgreSQL server: db1:5432: refused; db2:5432: a standby (read-only)", searchBegan: .now)
        }
        outages.writable(standby)
        outages.writable(standby)
        #expect(lines.all.count == 2, "\(lines.all)")
        #expect(lines.all.first?.level == .warning && lines.all.first?.message == "database unavailable")
        #expect(
            lines.all.first?.metadata["cause"]
                == "no writable PostgreSQL server: db1:5432: refused; db2:5432: a standby (read-only)")
        #expect(lines.all.first?.metadata["lost"] == "the server closed the connection")
        #expect(lines.all.last?.level == .notice && lines.all.last?.message == "database available again")
        #expect(lines.all.last?.metadata["host"] == "db2:5432")
        #expect(lines.all.last?.metadata["after"]?.hasSuffix(" s") == true)
    }

    /// A search that began before another found a writable server, and failed after it,
    /// starts no outage: the one found is there.
    @Test func aSearchOvertakenByAFoundServerStartsNoOutage() {
        let lines = CapturedLines()
        let outages = PostgresOutageLog(logger: lines.logger)
        outages.writable(primary)
        let began = ContinuousClock.now
        outages.writable(standby)
        outages.noneWritable("no writable PostgreSQL server: db1:5432: refused", searchBegan: began)
        #expect(lines.all.isEmpty, "\(lines.all)")
        outages.noneWritable("no writable PostgreSQL server: db1:5432: refused", searchBegan: .now)
        #expect(lines.all.map(\.message) == ["database unavailable"])
    }
}

/// The lines a logger was given, kept in order.
private final class CapturedLines: Sendable {
    struct Line: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])
    var all: [Line] { lines.withLock { $0 } }

    var logger: Logger { Logger(label: "warden.store.postgres") { _ in Handler(lines: self) } }

    private struct Handler: LogHandler {
        let lines: CapturedLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).mapValues { "\($0)" }
            lines.lines.withLock {
                $0.append(Line(level: event.level, message: "\(event.message)", metadata: fields))
            }
        }
    }
}
