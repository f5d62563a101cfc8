import Foundation
import Logging
import NIOCore
import PostgresNIO

/// One PostgreSQL connection, used by one transaction at a time from a blocking thread
/// (never an event loop). A connection-level failure or a server turned read-only breaks it
/// and tells the connector that the writable server must be found again.
final class PostgresSession: SQLSession, @unchecked Sendable {
    private let connection: PostgresConnection
    let generation: Int
    private let connector: PostgresConnector
    private let logger: Logger
    /// Set once the connection failed; a broken session is closed, never reused.
    private(set) var broken = false

    init(_ connection: PostgresConnection, generation: Int, connector: PostgresConnector, logger: Logger) {
        self.connection = connection
        self.generation = generation
        self.connector = connector
        self.logger = logger
    }

    /// Whether a pool may hand the session out again.
    var isReusable: Bool { !broken && generation == connector.generation }

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
        try run(sql, arguments).metadata.rows ?? 0
    }

    /// Commits; false when PostgreSQL answered that it rolled the transaction back instead.
    func commit() throws -> Bool { try run("COMMIT", []).metadata.command == "COMMIT" }

    func query(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
        let result = try run(sql, arguments)
        guard let first = result.rows.first else { return }
        let columns = SQLColumns(first.map(\.columnName))
        for row in result.rows {
            try body(SQLRow(columns: columns, values: try row.map(Self.value)))
        }
    }

    /// Sends the statement and goes on: PostgreSQL answers in order, so the next statement
    /// waited for finds out whether this one failed.
    func enqueue(_ sql: String, _ arguments: [SQLValue]) throws {
        guard !broken else { throw StoreError.unavailable("the database connection was lost") }
        unanswered.append(send(sql, arguments))
    }

    private func send(_ sql: String, _ arguments: [SQLValue]) -> EventLoopFuture<PostgresQueryResult> {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments { Self.bind(argument, to: &binds) }
        let query = PostgresQuery(unsafeSQL: arguments.isEmpty ? sql : Self.numbered(sql), binds: binds)
        return connection.query(query, logger: logger)
    }

    /// Statements sent without waiting whose answers have not been looked at yet.
    private var unanswered: [EventLoopFuture<PostgresQueryResult>] = []

    private func run(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
        guard !broken else { throw StoreError.unavailable("the database connection was lost") }
        let answer = send(sql, arguments)
        let earlier = unanswered
        unanswered = []
        do {
            // Answered before this one: the first that failed is why this one did too.
            for statement in earlier { _ = try statement.wait(within: connector.statementTimeout) }
            return try answer.wait(within: connector.statementTimeout)
        } catch {
            guard PostgresFailure.isFailOver(error) else { throw PostgresFailure.storeError(error) }
            broken = true
            close()
            connector.failedOver(from: generation)
            throw StoreError.unavailable(PostgresFailure.describe(error, location: connector.location))
        }
    }

    /// `sql` with its `?` placeholders numbered `$1`, `$2`… as PostgreSQL wants them
    /// (a `?` inside a quoted literal or identifier is left alone).
    static func numbered(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                result.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                result.append(character)
            } else if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }

    private static func bind(_ value: SQLValue, to binds: inout PostgresBindings) {
        switch value {
        case .null: binds.appendNull()
        case .integer(let integer): binds.append(integer)
        case .real(let real): binds.append(real)
        case .boolean(let flag): binds.append(flag)
        case .text(let text): binds.append(text)
        case .blob(let bytes): binds.append(ByteBuffer(bytes: bytes))
        case .timestamp(let date): binds.append(date)
        }
    }

    private static func value(_ cell: PostgresCell) throws -> SQLValue {
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

extension EventLoopFuture where Value: Sendable {
    /// Waits (from a thread that is not an event loop) for the value, at most `timeout`.
    func wait(within timeout: TimeAmount) throws -> Value {
        let promise = eventLoop.makePromise(of: Value.self)
        let timer = eventLoop.scheduleTask(in: timeout) {
            promise.fail(PostgresFailure.timedOut(seconds: Int(timeout.nanoseconds / 1_000_000_000)))
        }
        whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return try promise.futureResult.wait()
    }
}
