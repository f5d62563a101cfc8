#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOHTTP1

/// The server said no: its status and its one-line reason.
public struct APIRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let error: String
    public let reason: String

    public var description: String { "refused (\(status) \(error)): \(reason)" }
}

extension HTTPSClient {
    private struct RefusalBody: Decodable {
        let error: String
        let reason: String
    }

    private static let encoder = JSONEncoder()
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Sends `body` as JSON and decodes a 2xx answer as `Answer`; any other answer is an ``APIRefusal``.
    public func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String, _ body: (some Encodable)? = Optional<String>.none, as: Answer.Type = Answer.self) async throws -> Answer {
        let encoder = Self.encoder, decoder = Self.decoder
        let response = try await send(method, path, body: try body.map { [UInt8](try encoder.encode($0)) })
        guard (200..<300).contains(response.status) else {
            let refusal = try? decoder.decode(RefusalBody.self, from: Data(response.body))
            throw APIRefusal(
                status: response.status, error: refusal?.error ?? "http\(response.status)",
                reason: refusal?.reason ?? String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        do { return try decoder.decode(Answer.self, from: Data(response.body)) } catch {
            throw ClientError.protocolError("unexpected answer to \(path): \(error)")
        }
    }
}
