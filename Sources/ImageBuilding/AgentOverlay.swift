import Archive
import Foundation

/// The gzip-compressed cpio (newc) overlay that turns a stock initrd into an attesting
/// node's: `warden-agent` at /usr/bin, every shared library it loads (what `ldd` lists, plus
/// the TSS TCTI modules the TCTI loader opens at run time) at the paths the loader looks for
/// them, each stripped to what loading and running it needs, Warden's server CA at
/// /etc/warden/ca.pem and every appliance's URL at /etc/warden/server, one per line, in the
/// order the node tries them. Appended to an initrd (the kernel unpacks concatenated
/// archives in order), it adds files and replaces nothing the node's own init needs.
public struct AgentOverlay: Sendable {
    /// Why no overlay was made.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public let agent: String
    public let serverCA: String
    /// The appliances' URLs, in the order a node tries them.
    public let serverURLs: [String]
    /// Libraries loaded with dlopen, which ldd cannot see: the TPM device TCTI.
    public var loadedAtRunTime = ["/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0"]

    public init(agent: String, serverCA: String, serverURLs: [String]) {
        self.agent = agent
        self.serverCA = serverCA
        self.serverURLs = serverURLs
    }

    /// The files the overlay holds: path inside the initrd → file on this machine.
    public func files() throws(Failure) -> [(String, String)] {
        for library in loadedAtRunTime where !FileManager.default.fileExists(atPath: library) {
            throw Failure(description: "\(library) is missing (install libtss2-tcti-device0)")
        }
        let libraries = try Self.libraries(of: agent) + loadedAtRunTime
        return [("usr/bin/warden-agent", agent), ("etc/warden/ca.pem", serverCA)]
            + libraries.map { (String($0.drop { $0 == "/" }), $0) }
    }

    /// Writes `initrd` followed by the overlay to `output`.
    public func append(to initrd: String, output: String) throws(Failure) {
        let overlay = output + ".overlay"
        defer { try? FileManager.default.removeItem(atPath: overlay) }
        try write(to: overlay)
        do {
            var combined = try Data(contentsOf: URL(fileURLWithPath: initrd))
            // Each archive starts on a 4-byte boundary; the kernel skips zero padding.
            combined.append(Data(count: (4 - combined.count % 4) % 4))
            combined.append(try Data(contentsOf: URL(fileURLWithPath: overlay)))
            try combined.write(to: URL(fileURLWithPath: output))
        } catch { throw Failure(description: "cannot append the agent to \(initrd): \(error.localizedDescription)") }
    }

    /// Writes the overlay alone to `path`.
    public func write(to path: String) throws(Failure) {
        let files = try files()
        do {
            var writer = try ArchiveWriter(path: path, format: .cpioNewcGzip)
            var directories: Set<String> = []
            for (inside, _) in files {
                var parent = ""
                for component in inside.split(separator: "/").dropLast() {
                    parent += (parent.isEmpty ? "" : "/") + component
                    if directories.insert(parent).inserted { try writer.addDirectory(parent) }
                }
            }
            let stripped = path + ".stripped"
            defer { try? FileManager.default.removeItem(atPath: stripped) }
            for (inside, file) in files {
                let isBinary = file != serverCA
                if isBinary { try Self.strip(file, into: stripped) }
                let source = URL(fileURLWithPath: isBinary ? stripped : file)
                try writer.addFile(
                    inside, contents: [UInt8](try Data(contentsOf: source)),
                    mode: inside.hasPrefix("usr/bin/") || inside.contains("ld-linux") ? 0o755 : 0o644)
            }
            try writer.addFile(
                "etc/warden/server", contents: Array(serverURLs.map { $0 + "\n" }.joined().utf8))
            try writer.finish()
        } catch { throw Failure(description: "cannot write the agent overlay: \(error)") }
    }

    /// A copy of `binary` with only what loading and running it needs: no debug sections,
    /// no symbol table beyond the dynamic one, and no `.swift_ast` (the Swift module a
    /// debugger reads, a third of a debug build's agent). Every byte of the overlay is
    /// downloaded, hashed by the firmware and measured at each boot; stripping nearly halves it.
    static func strip(_ binary: String, into output: String) throws(Failure) {
        do {
            _ = try ImageTool.run(
                "/usr/bin/objcopy", ["--strip-unneeded", "--remove-section=.swift_ast", binary, output],
                hint: "install binutils")
        } catch {
            throw Failure(description: error.description)
        }
    }

    /// The absolute paths of the shared libraries `binary` loads, from `ldd`.
    static func libraries(of binary: String) throws(Failure) -> [String] {
        let text: String
        do { text = try ImageTool.run("/usr/bin/ldd", [binary], hint: "install libc-bin") } catch {
            throw Failure(description: "\(error.description) (is it a dynamic executable?)")
        }
        let libraries = text.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count {
                return words[arrow + 1].hasPrefix("/") ? words[arrow + 1] : nil
            }
            return words.first.flatMap { $0.hasPrefix("/") ? $0 : nil }
        }
        if let missing = text.split(separator: "\n").first(where: { $0.contains("not found") }) {
            throw Failure(
                description:
                    "\(binary) needs a library this machine lacks: \(missing.trimmingCharacters(in: .whitespaces))")
        }
        return libraries
    }
}
