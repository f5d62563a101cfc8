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
        // Started and stopped on threads of their own: `initdb` and a fast shutdown block for
        // seconds, and on a 2-core machine the cooperative pool has two threads, which every
        // other test of the run then waits for (eleven suites start a server at once).
        let server = try await offPool { try PostgresCluster() }
        do {
            try await PostgresCluster.$current.withValue(server) { try await function() }
        } catch {
            try await offPool { server.stop() }
            throw error
        }
        try await offPool { server.stop() }
    }
}

extension Trait where Self == PostgresServerTrait {
    /// A PostgreSQL server of the suite's own.
    public static var postgresServer: Self { PostgresServerTrait() }
}
