import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// Opens connections to the writable server among a ``PostgresLocation``'s hosts: each host
/// in turn (the last one found writable first) is connected to, over TLS as `sslmode` asks,
/// and asked `pg_is_in_recovery()`; a standby is passed over. Every fail-over a session
/// reports starts a new generation, and connections of an older one are not used again.
final class PostgresConnector: Sendable {
    let location: PostgresLocation
    private let password: String?
    private let tls: PostgresConnection.Configuration.TLS
    private let group: any EventLoopGroup
    private let logger = Logger(label: "warden.store.postgres")
    private let preferredHost = Atomic<Int>(0)
    private let currentGeneration = Atomic<Int>(0)
    private let nextID = Atomic<Int>(0)
    private let outages: PostgresOutageLog
    /// How long one statement may take before its connection is given up as dead (a server
    /// that vanished without closing it, say). The store's statements take milliseconds,
    /// and every write waits behind the one in progress, so this bounds a fail-over's stall.
    let statementTimeout: TimeAmount = .seconds(5)

    /// A password goes only to a server whose certificate is checked (`verify-ca`,
    /// `verify-full`), or to one on this machine: PostgreSQL may ask for it in the clear, and
    /// anyone between an unchecked server and us would read it.
    init(location: PostgresLocation, password: String?, group: any EventLoopGroup) throws(StoreError) {
        guard
            password == nil || [.verifyCA, .verifyFull].contains(location.sslMode)
                || location.hosts.allSatisfy(\.isThisMachine)
        else {
            throw .invalid(
                "a database password goes only to a server whose certificate is checked: "
                    + "use sslmode=verify-full (or verify-ca) with sslrootcert, or a client certificate")
        }
        self.location = location
        self.password = password
        self.group = group
        self.tls = try Self.tls(for: location)
        outages = PostgresOutageLog(logger: logger)
    }

    /// The generation connections are opened in now.
    var generation: Int { currentGeneration.load(ordering: .acquiring) }

    /// Gives up connections of `generation` after a fail-over seen on one of them (`cause`
    /// says what failed).
    func failedOver(from generation: Int, cause: String) {
        let first = currentGeneration.compareExchange(
            expected: generation, desired: generation + 1, ordering: .acquiringAndReleasing
        ).exchanged
        if first { outages.lost(cause) }
    }

    /// A connection to the writable server; when there is none, why each host was passed over.
    func connectWritable() throws(StoreError) -> PostgresSession {
        let began = ContinuousClock.now
        let hosts = location.hosts
        let first = preferredHost.load(ordering: .relaxed) % hosts.count
        var passedOver: [String] = []
        for offset in 0..<hosts.count {
            let index = (first + offset) % hosts.count
            let host = hosts[index]
            let session: PostgresSession
            do {
                session = PostgresSession(
                    try connect(host).wait(), generation: generation, connector: self, logger: logger)
            } catch {
                passedOver.append("\(host): \(PostgresFailure.describe(error, location: location))")
                continue
            }
            do {
                guard try Bool.fetchOne(SQLTransaction(session), sql: "SELECT pg_is_in_recovery()") == false else {
                    session.close()
                    passedOver.append("\(host): a standby (read-only)")
                    continue
                }
            } catch {
                session.close()
                passedOver.append("\(host): \(PostgresFailure.describe(error, location: location))")
                continue
            }
            preferredHost.store(index, ordering: .relaxed)
            outages.writable(host)
            return session
        }
        let cause = "no writable PostgreSQL server: " + passedOver.joined(separator: "; ")
        outages.noneWritable(cause, searchBegan: began)
        throw .unavailable(cause)
    }

    private func connect(_ host: PostgresLocation.Host) -> EventLoopFuture<PostgresConnection> {
        var configuration =
            host.isSocketFolder
            ? PostgresConnection.Configuration(
                unixSocketPath: host.socketPath, username: location.user, password: password,
                database: location.database)
            : PostgresConnection.Configuration(
                host: host.name, port: host.port, username: location.user, password: password,
                database: location.database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(Int64(location.connectTimeout * 1_000))
        // The server gives up on us as we give up on it: a transaction left open (its
        // appliance gone silent while holding the write lock) ends after 30 s, and a peer that
        // vanished is noticed by TCP within about 25 s, not the kernel's two hours.
        // Every statement the store runs again is a look-up by key, prepared once
        // (``PostgresStatements``), and PostgreSQL keeps the plan it made then until the next
        // ANALYZE: a plan made while a new appliance's tables were small scanned them, and
        // grew slower with them (a 741 µs standing query, 30 µs by its index). Without
        // sequential scans where an index serves, plans stay look-ups at any size.
        configuration.options.additionalStartupParameters = [
            ("application_name", location.applicationName), ("idle_in_transaction_session_timeout", "30000"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
            ("enable_seqscan", "off"),
        ]
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let eventLoop = group.next()
        let connecting = PostgresConnection.connect(on: eventLoop, configuration: configuration, id: id, logger: logger)
        // The connect timeout covers the TCP handshake only: a server that accepts and then
        // says nothing is given up as well.
        let deadline = eventLoop.makePromise(of: PostgresConnection.self)
        let timer = eventLoop.scheduleTask(in: configuration.options.connectTimeout) {
            deadline.fail(PostgresFailure.timedOut(seconds: Int(self.location.connectTimeout)))
            connecting.whenSuccess(PostgresSession.close)
        }
        connecting.whenComplete { result in
            timer.cancel()
            deadline.completeWith(result)
        }
        return deadline.futureResult
    }

    /// libpq's `sslmode` as a TLS setting: `prefer` and `require` encrypt without checking the
    /// server (as libpq does when no root certificate is named), `verify-ca` checks its
    /// certificate against `sslrootcert`, `verify-full` its name as well.
    private static func tls(for location: PostgresLocation) throws(StoreError) -> PostgresConnection.Configuration.TLS {
        guard location.sslMode != .disable else { return .disable }
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable, .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        do {
            if let roots = location.sslRootCertificate {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(roots))
            }
            if let certificate = location.sslCertificate, let key = location.sslKey {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            let context = try NIOSSLContext(configuration: configuration)
            return location.sslMode == .prefer ? .prefer(context) : .require(context)
        } catch {
            throw .database("the database's TLS files (sslrootcert, sslcert, sslkey) do not load: \(error)")
        }
    }
}
