import Foundation
import LocalPostgres
import Testing

extension PostgresCluster {
    /// The server of the suite that runs now (``PostgresServerTrait``).
    @TaskLocal public static var current: PostgresCluster?

    /// The server of the suite that runs now; an error naming the trait when it has none.
    public static func forThisSuite() throws -> PostgresCluster {
        guard let current else { throw CommandFailure("this suite needs the .postgresServer trait") }
        return current
    }
}

/// Gives a suite a PostgreSQL server of its own (``PostgresCluster/current``), started
/// before its first test and stopped after its last.
public struct PostgresServerTrait: SuiteTrait, TestScoping {
    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try PostgresCluster()
        defer { server.stop() }
        try await PostgresCluster.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == PostgresServerTrait {
    /// A PostgreSQL server of the suite's own.
    public static var postgresServer: Self { PostgresServerTrait() }
}
