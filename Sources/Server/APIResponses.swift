import Foundation
import Hummingbird
import NIOPosix
import WardenAPI

/// JSON responses and off-loop execution shared by the agent and admin APIs.
enum APIResponses {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// A refusal in the one shape every endpoint uses.
    static func refusal(_ status: HTTPResponse.Status, error: String, reason: String) throws -> Response {
        try json(status, AgentMessages.Refusal(error: error, reason: reason))
    }

    /// Threads for blocking work. More than the cores, since a thread waiting for SQLite's
    /// fsync uses no CPU, but few: each extra thread is another context switch per request
    /// (measured: 4 threads served 1,172/s where 16 served 1,060–1,092/s).
    private static let blockingPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    /// Runs blocking work (SQLite, verification) on the blocking pool, never on an event
    /// loop or the cooperative pool.
    static func offLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await blockingPool.runIfActive(body)
    }

    /// Decodes a JSON body, turning malformed JSON into a 400 with what was wrong.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: WardenRequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        do { return try decoder.decode(T.self, from: Data(buffer: buffer)) } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: "invalid JSON body: \(describe(error))")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "missing field \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case .dataCorrupted(let context): context.codingPath.isEmpty ? "not JSON" : "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        @unknown default: "unreadable"
        }
    }
}
