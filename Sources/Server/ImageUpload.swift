import Foundation
import Hummingbird

/// Streams an uploaded image to a file of its own, never holding it in memory.
enum ImageUpload {
    /// Why an upload was not kept.
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// Writes `body` to a new file in `folder`, at most `limit` bytes; returns its path.
    static func receive(_ body: RequestBody, into folder: String, limit: Int) async throws(Refusal) -> String {
        let path = folder + "/" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
                let handle = FileHandle(forWritingAtPath: path)
            else { throw Refusal(description: "cannot create an upload file") }
            defer { try? handle.close() }
            var received = 0
            for try await buffer in body {
                received += buffer.readableBytes
                guard received <= limit else { throw Refusal(description: "the image exceeds \(limit) bytes") }
                try handle.write(contentsOf: buffer.readableBytesView)
            }
            return path
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error as? Refusal ?? Refusal(description: "the upload failed: \(error)")
        }
    }
}
