import Dispatch
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One PostgreSQL connection, used by one transaction at a time from a blocking thread
/// (never an event loop). A connection-level failure or a server turned read-only breaks it
/// and tells the connector that the writable server must be found again.
final class PostgresSession: SQLSession, @unchecked Sendable {
    private let connection: PostgresConnection
    let generation: Int
    private let connector: PostgresConnector
    private let logger: Logger
    /// The queries prepared on this connection, touched only on its event loop.
    private let statements = PostgresStatements()
    /// Set once the connection failed; a broken session is closed, never reused.
    private(set) var broken = false

    /// `logger` is given to PostgresNIO's queries only when it logs debug lines: PostgresNIO
    /// copies a query's logger to add metadata to it, and with a logging handler that copy
    /// cost about a tenth of the server's CPU per attestation, for lines nobody sees at `info`.
    init(_ connection: PostgresConnection, generation: Int, connector: PostgresConnector, logger: Logger) {
        self.connection = connection
        self.generation = generation
        self.connector = connector
        self.logger = logger.logLevel <= .debug ? logger : Self.silent
    }

    private static let silent = Logger(label: "warden.store.postgres") { _ in SwiftLogNoOpLogHandler() }

    /// Whether a pool may hand the session out again.
    var isReusable: Bool {
        !broken && unsent.isEmpty && generation == connector.generation && !connection.isClosed
    }

    deinit { close() }

    /// Closes the connection; it stays alive until the close completed, as PostgresNIO expects.
    func close() { PostgresSession.close(connection) }

    /// Closes `connection`, keeping it alive until the close completed.
    static func close(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    let lockingRows = " FOR UPDATE"

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try run(sql, arguments).metadata?.rows ?? 0
    }

    /// Commits; false when PostgreSQL answered that it rolled the transaction back instead.
    func commit() throws -> Bool { try run("COMMIT", []).metadata?.command == "COMMIT" }

    func query(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
        for row in try Self.rows(of: try run(sql, arguments, preparable: true)) { try body(row) }
    }

    private static func rows(of answer: Answer) throws -> [SQLRow] {
        guard let first = answer.rows.first else { return [] }
        let columns = SQLColumns(first.map(\.columnName))
        return try answer.rows.map { row in SQLRow(columns: columns, values: try row.map(Self.value)) }
    }

    /// Keeps the statement to send with the next one that is waited for: PostgreSQL answers
    /// in order, so that one finds out whether this one failed.
    func enqueue(_ sql: String, _ arguments: [SQLValue]) throws {
        guard !broken else { throw StoreError.unavailable("the database connection was lost") }
        unsent.append(Statement(sql: sql, arguments: arguments, preparable: true))
    }

    func enqueueQuery(_ sql: String, _ arguments: [SQLValue]) throws -> SQLLaterRows {
        let rows = SQLLaterRows()
        try enqueue(sql, arguments) { result in
            rows.answer(Result { try Self.rows(of: try result.get()) })
        }
        return rows
    }

    private func enqueue(
        _ sql: String, _ arguments: [SQLValue], answer: @escaping @Sendable (Result<Answer, any Error>) -> Void
    ) throws {
        guard !broken else { throw StoreError.unavailable("the database connection was lost") }
        unsent.append(Statement(sql: sql, arguments: arguments, preparable: true, answer: answer))
    }

    /// One statement, its arguments, whether it may run as a prepared statement (nobody reads
    /// its command tag, which PostgresNIO does not tell for one), and who takes its answer
    /// when a caller reads it later.
    private struct Statement: Sendable {
        let sql: String
        let arguments: [SQLValue]
        var preparable = false
        var answer: (@Sendable (Result<Answer, any Error>) -> Void)? = nil
    }

    /// A statement's rows and, when it ran unnamed, what it did (its command tag).
    private struct Answer: Sendable {
        var rows: [PostgresRow]
        var metadata: PostgresQueryMetadata?
    }

    /// Whether the statements sent so far opened a transaction they did not end.
    private var transactionOpen = false

    /// Statements enqueued and not sent yet.
    private var unsent: [Statement] = []

    private func run(_ sql: String, _ arguments: [SQLValue], preparable: Bool = false) throws -> Answer {
        guard !broken else { throw StoreError.unavailable("the database connection was lost") }
        let statements = unsent + [Statement(sql: sql, arguments: arguments, preparable: preparable)]
        unsent = []
        do {
            return try answer(statements)
        } catch {
            guard PostgresFailure.isFailOver(error) else { throw PostgresFailure.storeError(error) }
            broken = true
            close()
            let cause = PostgresFailure.describe(error, location: connector.location)
            connector.failedOver(from: generation, cause: cause)
            throw StoreError.unavailable(cause)
        }
    }

    /// Sends `statements` in one trip to the connection's event loop and waits, at most the
    /// connector's statement timeout, for the last one's answer, or the first failure among
    /// them: a thread switch there and one back, however many statements go. Statements due
    /// for preparing are prepared first when no transaction is open.
    private func answer(_ statements: [Statement]) throws -> Answer {
        let outcome = AwaitedAnswer<Answer>()
        let prepareFirst = !transactionOpen
        for statement in statements {
            if statement.sql.hasPrefix("BEGIN") {
                transactionOpen = true
            } else if statement.sql == "COMMIT" || statement.sql == "ROLLBACK" {
                transactionOpen = false
            }
        }
        let loop = connection.eventLoop
        // Waiting on the loop that must answer would wait for ever.
        loop.preconditionNotInEventLoop()
        let timeout = connector.statementTimeout
        loop.execute { [connection, logger, prepared = self.statements] in
            // A statement written to a closed channel would never be answered: PostgresNIO's
            // handlers have left its pipeline. Asked on the loop, this cannot change meanwhile.
            guard !connection.isClosed else {
                outcome.complete(.failure(PostgresFailure.closed))
                return
            }
            if prepareFirst { prepared.prepareDue(on: connection) }
            var answers = statements.map { statement in
                let answer = Self.send(statement, on: connection, prepared: prepared, logger: logger)
                if let deliver = statement.answer { answer.whenComplete(deliver) }
                return answer
            }
            var combined = answers.removeLast()
            for earlier in answers.reversed() {
                let later = combined
                combined = earlier.flatMap { _ in later }
            }
            let timer = loop.scheduleTask(in: timeout) {
                outcome.complete(.failure(PostgresFailure.timedOut(seconds: Int(timeout.nanoseconds / 1_000_000_000))))
            }
            combined.whenComplete { result in
                timer.cancel()
                outcome.complete(result)
            }
        }
        return try outcome.wait()
    }

    /// Writes `statement` to `connection`, on its event loop: as the named statement prepared
    /// for it, or unnamed.
    private static func send(
        _ statement: Statement, on connection: PostgresConnection, prepared: PostgresStatements, logger: Logger
    ) -> EventLoopFuture<Answer> {
        let sql =
            statement.arguments.isEmpty ? statement.sql : PostgresStatements.typed(statement.sql, statement.arguments)
        if statement.preparable {
            if let named = prepared.prepared(sql) {
                let rows = NIOLoopBoundBox([PostgresRow](), eventLoop: connection.eventLoop)
                return named.execute(statement.arguments.map(Self.data)) { row in rows.value.append(row) }
                    .map { Answer(rows: rows.value) }
                    .flatMapErrorThrowing { error in
                        if PostgresFailure.isStalePreparedStatement(error) { prepared.dropPrepared(sql) }
                        throw PostgresFailure.ofPreparedStatement(error)
                    }
            }
            prepared.ranUnnamed(sql)
        }
        return connection.query(query(sql, statement.arguments), logger: logger).map {
            Answer(rows: $0.rows, metadata: $0.metadata)
        }
    }

    private static func query(_ sql: String, _ arguments: [SQLValue]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments { binds.append(data(argument)) }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// `value` as a statement's argument, unnamed or prepared, in binary.
    private static func data(_ value: SQLValue) -> PostgresData {
        switch value {
        case .null: .null
        case .integer(let integer): PostgresData(int64: integer)
        case .real(let real): PostgresData(double: real)
        case .boolean(let flag): PostgresData(bool: flag)
        case .text(let text): PostgresData(string: text)
        case .blob(let bytes): PostgresData(bytes: bytes)
        case .timestamp(let date): PostgresData(date: date)
        }
    }

    /// PostgresNIO asks for every result column in binary; a prepared statement's rows still
    /// say text, the format its description came back with, so the format is set here.
    private static func value(_ answered: PostgresCell) throws -> SQLValue {
        var cell = answered
        cell.format = .binary
        guard var bytes = cell.bytes else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .boolean(try cell.decode(Bool.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .text, .varchar, .name, .bpchar: return .text(try cell.decode(String.self))
        case .bytea: return .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
        case .timestamptz, .timestamp: return .timestamp(try cell.decode(Date.self))
        default:
            throw StoreError.database(
                "column \(cell.columnName) has type \(cell.dataType), which the store does not read")
        }
    }
}

/// The answer a blocking thread waits for while an event loop gets it: the first outcome
/// given is kept (an answer, or the timeout's failure), later ones are dropped.
private final class AwaitedAnswer<Answer: Sendable>: Sendable {
    private let outcome = Mutex<Result<Answer, any Error>?>(nil)
    private let given = DispatchSemaphore(value: 0)

    func complete(_ result: Result<Answer, any Error>) {
        let first = outcome.withLock { outcome in
            guard outcome == nil else { return false }
            outcome = result
            return true
        }
        if first { given.signal() }
    }

    func wait() throws -> Answer {
        given.wait()
        return try outcome.withLock { $0! }.get()
    }
}
