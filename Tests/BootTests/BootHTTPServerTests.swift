import Boot
import Foundation
import Synchronization
import Testing
import TestSupport

/// The boot HTTP server on loopback, driven by curl: exact lengths, HEAD, ranges, entity
/// tags, refusals of path tricks and of methods, the script hand-off, and 503 when full.
@Suite(.dedicatedThread) struct BootHTTPServerTests {
    /// Answers every identified machine with a script naming its MAC; remembers the requests.
    final class RecordingScripts: BootScriptSource {
        let requests = Mutex<[BootScriptRequest]>([])
        func script(for request: BootScriptRequest) -> IPXEScript {
            requests.withLock { $0.append(request) }
            return .exit("seen \(request.mac ?? "no MAC")")
        }
    }

    struct Rig {
        let folder: URL
        let server: BootHTTPServer
        let scripts = RecordingScripts()
        let image: [UInt8]

        init(settings: BootHTTPServer.Settings = BootHTTPServer.Settings()) async throws {
            folder = try TestPaths.temporaryDirectory("boothttp")
            let firmware = folder.appendingPathComponent("firmware")
            let images = folder.appendingPathComponent("images")
            for directory in [firmware, images] {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            }
            image = (0..<1_000_003).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
            try Data(image).write(to: images.appendingPathComponent("node.efi"))
            try Data("ipxe".utf8).write(to: firmware.appendingPathComponent("ipxe.efi"))
            try Data("secret".utf8).write(to: folder.appendingPathComponent("outside.txt"))
            try FileManager.default.createSymbolicLink(
                atPath: firmware.appendingPathComponent("leak").path,
                withDestinationPath: folder.appendingPathComponent("outside.txt").path)
            server = try await BootHTTPServer.start(
                host: "127.0.0.1", port: 0, firmware: BootFileRoot(path: firmware.path),
                images: BootFileRoot(path: images.path), scripts: scripts, settings: settings)
        }

        var base: String { "http://127.0.0.1:\(server.port)" }

        /// One curl request: status, response headers (lowercased names) and body.
        func curl(_ path: String, _ options: [String] = []) throws -> (
            status: Int, headers: [String: String], body: [UInt8]
        ) {
            let id = UUID().uuidString
            let headerFile = folder.appendingPathComponent("h-" + id).path
            let bodyFile = folder.appendingPathComponent("b-" + id).path
            let result = try Command.run(
                "curl",
                ["-sS", "--path-as-is", "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}"] + options + [
                    base + path
                ])
            guard result.status == 0, let status = Int(result.stdout) else {
                throw CommandFailure("curl \(path): \(result.stderr)")
            }
            var headers: [String: String] = [:]
            for line in (try String(contentsOfFile: headerFile, encoding: .utf8)).split(separator: "\r\n").dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
            return (status, headers, FileManager.default.contents(atPath: bodyFile).map { [UInt8]($0) } ?? [])
        }
    }

    @Test func aFileComesWholeWithItsExactLengthAndTag() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let got = try rig.curl("/images/node.efi")
        #expect(got.status == 200)
        #expect(got.body == rig.image)
        #expect(got.headers["content-length"] == String(rig.image.count))
        #expect(got.headers["transfer-encoding"] == nil)
        #expect(got.headers["accept-ranges"] == "bytes")
        let tag = try #require(got.headers["etag"])
        #expect(tag.hasPrefix("\"") && tag.hasSuffix("\""))
        let head = try rig.curl("/images/node.efi", ["-I"])
        #expect(
            head.status == 200 && head.headers["content-length"] == String(rig.image.count)
                && head.headers["etag"] == tag)
        let unchanged = try rig.curl("/images/node.efi", ["-H", "If-None-Match: \(tag)"])
        #expect(unchanged.status == 304 && unchanged.body.isEmpty)
        let firmware = try rig.curl("/ipxe.efi")
        #expect(firmware.status == 200 && firmware.body == Array("ipxe".utf8))
    }

    @Test func rangesAreServedAsAsked() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let size = rig.image.count
        let middle = try rig.curl("/images/node.efi", ["-H", "Range: bytes=1000-1999"])
        #expect(middle.status == 206 && middle.body == Array(rig.image[1000...1999]))
        #expect(
            middle.headers["content-range"] == "bytes 1000-1999/\(size)" && middle.headers["content-length"] == "1000")
        let tail = try rig.curl("/images/node.efi", ["-H", "Range: bytes=-10"])
        #expect(tail.status == 206 && tail.body == Array(rig.image.suffix(10)))
        let open = try rig.curl("/images/node.efi", ["-H", "Range: bytes=\(size - 3)-"])
        #expect(open.status == 206 && open.body == Array(rig.image.suffix(3)))
        let past = try rig.curl("/images/node.efi", ["-H", "Range: bytes=\(size)-"])
        #expect(past.status == 416 && past.headers["content-range"] == "bytes */\(size)")
        // A list of ranges, or a range under a stale If-Range, gets the whole file.
        let list = try rig.curl("/images/node.efi", ["-H", "Range: bytes=0-1,5-6"])
        #expect(list.status == 200 && list.body == rig.image)
        let stale = try rig.curl("/images/node.efi", ["-H", "Range: bytes=0-9", "-H", "If-Range: \"stale\""])
        #expect(stale.status == 200 && stale.body.count == size)
    }

    @Test(arguments: [
        "/../outside.txt", "/%2e%2e/outside.txt", "/leak", "/images/../firmware/ipxe.efi", "/images/%2fetc%2fpasswd",
        "//etc/passwd", "/sub\\..\\..\\outside.txt", "/ipxe.efi%00.txt",
    ])
    func pathTricksAreRefused(_ path: String) async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let got = try rig.curl(path)
        #expect(got.status == 403 || got.status == 404, "\(path): \(got.status)")
        #expect(!String(decoding: got.body, as: UTF8.self).contains("secret"))
    }

    @Test func onlyGetAndHeadAreServed() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let post = try rig.curl("/ipxe.efi", ["-X", "POST", "-d", "x"])
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")
        let long = try rig.curl("/" + String(repeating: "a", count: 3_000))
        #expect(long.status == 414)
    }

    @Test func theScriptAsksForIdentityThenComesFromTheSource() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let first = try rig.curl("/boot.ipxe")
        #expect(first.status == 200 && first.headers["content-length"] == String(first.body.count))
        #expect(String(decoding: first.body, as: UTF8.self) == IPXEScript.identify(base: rig.base).text)
        #expect(rig.scripts.requests.withLock { $0.isEmpty })
        let second = try rig.curl("/boot.ipxe?mac=52:54:00:AB:cd:01&uuid=not-a-uuid&platform=efi&arch=x86_64")
        #expect(String(decoding: second.body, as: UTF8.self).contains("seen 52:54:00:ab:cd:01"))
        let request = try #require(rig.scripts.requests.withLock { $0.first })
        #expect(
            request.mac == "52:54:00:ab:cd:01" && request.uuid == nil && request.platform == "efi"
                && request.arch == "x86_64")
        #expect(request.client == "127.0.0.1")
    }

    @Test func placeholderUUIDsIdentifyNobody() {
        for placeholder in ["00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"] {
            #expect(
                BootScriptRequest(mac: nil, uuid: placeholder, platform: nil, arch: nil, client: "x", base: "http://x")
                    .uuid == nil)
        }
        let real = BootScriptRequest(
            mac: nil, uuid: "4C4C4544-0042-3510-8052-B4C04F4A4E31", platform: nil, arch: nil, client: "x",
            base: "http://x")
        #expect(real.uuid == "4c4c4544-0042-3510-8052-b4c04f4a4e31" && real.identifiesMachine)
    }

    /// When every place is taken, a new client takes the place of the connection that has
    /// waited longest without a request: connections that only hold a place keep nobody out.
    @Test func aFullServerClosesTheLongestIdleConnectionForANewClient() async throws {
        var settings = BootHTTPServer.Settings()
        settings.maxConnections = 2
        settings.idleSeconds = 600
        let rig = try await Rig(settings: settings)
        defer { Task { await rig.server.stop() } }
        let held = try (0..<2).map { _ in try OpenConnection(port: rig.server.port) }
        // The server counts a connection once its event loop has accepted it: on a loaded
        // machine that can take a while.
        for _ in 0..<1_000 where rig.server.connectionCount < 2 { try await Task.sleep(for: .milliseconds(20)) }
        try #require(rig.server.connectionCount == 2)
        #expect(try rig.curl("/ipxe.efi").status == 200)
        #expect(rig.server.connections.statistics.evicted == 1)
        // The eviction is counted when decided; the close reaches the client a moment later.
        for _ in 0..<250 where held.filter({ $0.isClosedByPeer() }).isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(held.filter { $0.isClosedByPeer() }.count == 1, "the oldest idle connection was closed")
        withExtendedLifetime(held) {}
    }

    /// One source address holds at most its share of the places.
    @Test func oneSourceHoldsAtMostItsShare() async throws {
        var settings = BootHTTPServer.Settings()
        settings.maxConnectionsPerSource = 3
        settings.idleSeconds = 600  // a loaded machine must not see the held ones time out
        let rig = try await Rig(settings: settings)
        defer { Task { await rig.server.stop() } }
        let held = try (0..<3).map { _ in try OpenConnection(port: rig.server.port) }
        for _ in 0..<1_000 where rig.server.connectionCount < 3 { try await Task.sleep(for: .milliseconds(20)) }
        try #require(rig.server.connectionCount == 3)
        #expect(throws: CommandFailure.self, "a fourth connection from the same address") { try rig.curl("/ipxe.efi") }
        #expect(rig.server.connections.statistics.refused >= 1)
        withExtendedLifetime(held) {}
    }

    /// A request head trickled in a byte at a time gets no more time than silence does.
    @Test func aTrickledHeadIsCutOffAtTheIdleDeadline() async throws {
        var settings = BootHTTPServer.Settings()
        settings.idleSeconds = 1
        let rig = try await Rig(settings: settings)
        defer { Task { await rig.server.stop() } }
        let slow = try OpenConnection(port: rig.server.port)
        let head =
            Array("GET /ipxe.efi HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
            + Array(repeating: UInt8(ascii: "a"), count: 150)
        var sent = 0
        for byte in head {
            guard slow.send([byte]) else { break }
            sent += 1
            try await Task.sleep(for: .milliseconds(100))
            if slow.isClosedByPeer() { break }
        }
        // A byte every 100 ms would have taken 20 s: the head had 1 s in all.
        #expect(slow.isClosedByPeer() && sent < head.count, "sent \(sent) of \(head.count) bytes")
        #expect(rig.server.connections.statistics.timedOut == 1)
    }

    @Test func aKeptAliveConnectionServesSeveralRequests() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let result = try Command.run(
            "curl",
            ["-sS", "-v", "-o", "/dev/null", "-o", "/dev/null", rig.base + "/ipxe.efi", rig.base + "/images/node.efi"])
        #expect(result.status == 0)
        #expect(
            result.stderr.contains("Re-using existing connection") || result.stderr.contains("Reusing existing"),
            "\(result.stderr)")
    }
}
