import Foundation
import Hummingbird
import NIOPosix
import WardenAPI

/// JSON responses shared by the agent and admin APIs.
enum APIResponses {
    /// Seconds a client is asked to wait (`Retry-After`) while the database is unavailable:
    /// about as long as a fail-over takes.
    static let databaseRetryAfter = 5
    /// How responses are encoded; a ``SortedJSONWritable`` value is written by hand to the
    /// same bytes.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        // Base64 and PEM are full of slashes: escaped, each costs a byte and the reader a detour.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        let bytes = try (value as? any SortedJSONWritable)?.sortedJSON ?? [UInt8](encoder.encode(value))
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A refusal in the one shape every endpoint uses.
    static func refusal(_ status: HTTPResponse.Status, error: String, reason: String) throws -> Response {
        try json(status, AgentMessages.Refusal(error: error, reason: reason))
    }

    /// Streams the file at `path` and removes it: it is unlinked as soon as it is open, so
    /// nothing is left behind however the transfer ends. `whenSent` runs once, when the
    /// transfer ends or cannot begin.
    static func file(_ path: String, contentType: String, whenSent: @escaping @Sendable () -> Void) throws -> Response {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        unlink(path)
        guard descriptor >= 0 else {
            whenSent()
            throw HTTPError(.internalServerError, message: "the export vanished")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            whenSent()
            throw HTTPError(.internalServerError, message: "the export cannot be read")
        }
        let file = OpenFile(descriptor: descriptor, whenClosed: whenSent)
        let body = ResponseBody(contentLength: Int(status.st_size)) { writer in
            while true {
                let chunk = try await BlockingPools.export.run { try file.nextChunk() }
                if chunk.isEmpty { break }
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: contentType, .contentLength: String(status.st_size)], body: body)
    }

    /// An open file read in chunks, closed when released.
    private final class OpenFile: Sendable {
        let descriptor: Int32
        private let whenClosed: @Sendable () -> Void
        init(descriptor: Int32, whenClosed: @escaping @Sendable () -> Void) {
            self.descriptor = descriptor
            self.whenClosed = whenClosed
        }
        deinit {
            close(descriptor)
            whenClosed()
        }

        func nextChunk() throws -> [UInt8] {
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw HTTPError(.internalServerError, message: "the export cannot be read") }
            chunk.removeSubrange(count...)
            return chunk
        }
    }

    /// Decodes a JSON body, turning malformed JSON into a 400 with what was wrong.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: WardenRequestContext) async throws
        -> T
    {
        try decode(T.self, from: try await request.body.collect(upTo: context.maxUploadSize))
    }

    /// Decodes a JSON body as ``decode(_:from:context:)`` does, reading a plain one without
    /// `JSONDecoder` (``PlainJSONDecodable``).
    static func decode<T: PlainJSONDecodable>(_ type: T.Type, from request: Request, context: WardenRequestContext)
        async throws -> T
    {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return try buffer.withUnsafeReadableBytes(T.init(plainJSON:)) ?? decode(T.self, from: buffer)
    }

    private static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do { return try decoder.decode(T.self, from: Data(buffer: buffer)) } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: "invalid JSON body: \(describe(error))")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "missing field \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case .dataCorrupted(let context):
            context.codingPath.isEmpty
                ? "not JSON" : "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        @unknown default: "unreadable"
        }
    }
}
