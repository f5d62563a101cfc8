import ArgumentParser
import Foundation

/// Reads the files named on the command line; an unreadable one ends the command with
/// ``ExitStatus/unreadableInput``, distinct from rejected evidence.
package enum InputFile {
    /// Files larger than this are not evidence and are not read.
    static let maxSize = 16 << 20

    package static func read(_ path: String, as what: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: path)
        do {
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            guard size <= maxSize else {
                throw InputError(path: path, what: what, reason: "\(size) bytes is more than \(maxSize)")
            }
            return [UInt8](try Data(contentsOf: url))
        } catch let error as InputError {
            printError(error.description)
        } catch {
            printError(InputError(path: path, what: what, reason: error.localizedDescription).description)
        }
        throw ExitStatus.unreadableInput
    }

    package static func printError(_ message: String) {
        FileHandle.standardError.write(Data(("warden: " + message + "\n").utf8))
    }
}

/// A named input that could not be read.
struct InputError: Error, CustomStringConvertible {
    let path: String
    let what: String
    let reason: String
    var description: String { "cannot read \(what) \(path): \(reason)" }
}
