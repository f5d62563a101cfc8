#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
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

    /// Slashes unescaped: an agent's base64 evidence is mostly what it sends, and a `\/` in
    /// a string sends the server's JSON reader down its slow path.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }()
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Sends `body` as JSON and decodes a 2xx answer as `Answer`; any other answer is an ``APIRefusal``.
    public func call<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, _ body: (some Encodable)? = Optional<String>.none,
        as: Answer.Type = Answer.self
    ) async throws -> Answer {
        try await call(method, path, rawBody: try body.map { [UInt8](try Self.encoder.encode($0)) }, as: Answer.self)
    }

    /// Sends `rawBody` as it is and decodes a 2xx answer as `Answer`; any other answer is an
    /// ``APIRefusal``.
    public func call<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, rawBody: [UInt8]?, as: Answer.Type = Answer.self
    ) async throws -> Answer {
        try Self.decoded(try await send(method, path, body: rawBody), of: path)
    }

    /// Sends the file at `file` as the body (an image upload, say), in constant memory,
    /// telling `progress` the bytes sent, and decodes a 2xx answer as `Answer`.
    public func call<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, file: String, progress: TransferProgress? = nil,
        as: Answer.Type = Answer.self
    ) async throws -> Answer {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ClientError.protocolError("cannot read \(file): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ClientError.protocolError("cannot read \(file): \(String(cString: strerror(errno)))")
        }
        let response = try await upload(method, path, from: descriptor, size: Int(status.st_size), progress: progress)
        return try Self.decoded(response, of: path)
    }

    /// A 2xx answer decoded as `Answer`; any other answer as an ``APIRefusal``.
    private static func decoded<Answer: Decodable>(_ response: Response, of path: String) throws -> Answer {
        guard (200..<300).contains(response.status) else { throw Self.refusal(response) }
        do { return try Self.decoder.decode(Answer.self, from: Data(response.body)) } catch {
            throw ClientError.protocolError("unexpected answer to \(path): \(error)")
        }
    }

    /// GETs `path` into the file `target`, streaming: written beside it and renamed into
    /// place only when complete; a refusal is an ``APIRefusal`` and leaves no file.
    public func download(_ path: String, toFile target: String, progress: TransferProgress? = nil) async throws {
        let partial = target + ".partial"
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ClientError.protocolError("cannot write \(partial): \(String(cString: strerror(errno)))")
        }
        let response: Response
        do {
            response = try await download(path, to: descriptor, progress: progress)
            Glibc.close(descriptor)
        } catch {
            Glibc.close(descriptor)
            unlink(partial)
            throw error
        }
        guard response.status == 200 else {
            unlink(partial)
            throw Self.refusal(response)
        }
        guard rename(partial, target) == 0 else {
            throw ClientError.protocolError("cannot write \(target): \(String(cString: strerror(errno)))")
        }
    }

    private static func refusal(_ response: Response) -> APIRefusal {
        let refusal = try? decoder.decode(RefusalBody.self, from: Data(response.body))
        return APIRefusal(
            status: response.status, error: refusal?.error ?? "http\(response.status)",
            reason: refusal?.reason ?? String(decoding: response.body.prefix(300), as: UTF8.self))
    }
}
