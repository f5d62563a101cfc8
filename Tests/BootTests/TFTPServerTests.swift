@testable import Boot
import Foundation
import Testing
import TestSupport

/// The TFTP server on loopback, with real clients (tftp-hpa's `tftp`, `curl`, `atftp`) and
/// Warden's own client made to lose packets on purpose.
@Suite(.dedicatedThread) struct TFTPServerTests {
    /// A server on a free loopback port, serving a fresh root with files of awkward sizes.
    struct Rig {
        let folder: URL
        let root: URL
        let server: TFTPServer
        let files: [String: [UInt8]]

        init(settings: TFTPServer.Settings = TFTPServer.Settings()) async throws {
            folder = try TestPaths.temporaryDirectory("tftp")
            root = folder.appendingPathComponent("root")
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
            var files: [String: [UInt8]] = [:]
            for (name, size) in [
                ("empty.bin", 0), ("one-block.bin", 512), ("odd.bin", 1_469), ("sub/big.bin", 300_000),
            ] {
                let bytes = (0..<size).map { _ in UInt8.random(in: 0...255) }
                try Data(bytes).write(to: root.appendingPathComponent(name))
                files[name] = bytes
            }
            try Data("secret".utf8).write(to: folder.appendingPathComponent("outside.txt"))
            try FileManager.default.createSymbolicLink(
                atPath: root.appendingPathComponent("leak").path,
                withDestinationPath: folder.appendingPathComponent("outside.txt").path)
            self.files = files
            server = try await TFTPServer.start(
                host: "127.0.0.1", port: 0, root: BootFileRoot(path: root.path), settings: settings)
        }

        var port: String { String(server.port) }

        func out(_ name: String) -> String {
            folder.appendingPathComponent("out-" + name.replacingOccurrences(of: "/", with: "_")).path
        }

        /// The server's counters once `condition` holds (the last acknowledgement of a
        /// transfer reaches the server after its client has finished), or after 5 s.
        func settled(_ condition: (TFTPServer.Statistics) -> Bool) async throws -> TFTPServer.Statistics {
            for _ in 0..<100 where !condition(server.statistics) { try await Task.sleep(for: .milliseconds(50)) }
            return server.statistics
        }

        /// What a client wrote, if it wrote anything.
        func written(_ name: String) -> [UInt8]? { FileManager.default.contents(atPath: out(name)).map { [UInt8]($0) } }
    }

    @Test func realClientsFetchEveryFileByteForByte() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        for (name, bytes) in rig.files {
            let hpa = try Command.run(
                "tftp", ["127.0.0.1", rig.port, "-m", "binary", "-c", "get", name, rig.out("hpa-" + name)])
            #expect(hpa.status == 0 && rig.written("hpa-" + name) == bytes, "tftp-hpa \(name): \(hpa.stderr)")
            // curl refuses an option acknowledgement with tsize 0 (tftp.c: "invalid tsize"), so
            // an empty file, whose size is 0, is fetched with the other clients only.
            for blockSize in ["512", "1468"] where !bytes.isEmpty {
                let target = "curl-\(blockSize)-" + name
                let curl = try Command.run(
                    "curl",
                    ["-sS", "--tftp-blksize", blockSize, "-o", rig.out(target), "tftp://127.0.0.1:\(rig.port)/\(name)"])
                #expect(
                    curl.status == 0 && rig.written(target) == bytes,
                    "curl blksize \(blockSize) \(name): \(curl.stderr)")
            }
            let atftp = try Command.run(
                "atftp",
                [
                    "--get", "-r", name, "-l", rig.out("atftp-" + name), "--option", "blksize 1468",
                    "--option", "tsize 0", "--option", "windowsize 8", "127.0.0.1", rig.port,
                ])
            #expect(
                atftp.status == 0 && rig.written("atftp-" + name) == bytes,
                "atftp windowsize 8 \(name): \(atftp.stderr)")
        }
        let fetches = rig.files.count * 4 - 2
        let statistics = try await rig.settled { $0.completed + $0.failed == fetches }
        #expect(statistics.completed == fetches && statistics.failed == 0, "\(statistics)")
    }

    @Test func everyPathTrickIsRefusedWithATFTPError() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let tricks = [
            "../outside.txt", "sub/../../outside.txt", "/etc/passwd", "%2e%2e/outside.txt", "..\\outside.txt",
            "./odd.bin", "sub//big.bin", "leak", "missing.bin",
        ]
        for (index, trick) in tricks.enumerated() {
            let hpa = try Command.run(
                "tftp", ["127.0.0.1", rig.port, "-m", "binary", "-c", "get", trick, rig.out("trick-\(index)")])
            #expect(
                hpa.stderr.contains("Error code 2") || hpa.stderr.contains("Error code 1")
                    || hpa.stdout.contains("Error code"), "\(trick): \(hpa.stdout)\(hpa.stderr)")
            let curl = try Command.run(
                "curl",
                ["-sS", "--path-as-is", "-o", rig.out("curl-trick-\(index)"), "tftp://127.0.0.1:\(rig.port)/\(trick)"])
            #expect(curl.status != 0, "curl fetched \(trick)")
            let atftp = try Command.run(
                "atftp", ["--get", "-r", trick, "-l", rig.out("atftp-trick-\(index)"), "127.0.0.1", rig.port])
            #expect(atftp.status != 0, "atftp fetched \(trick)")
        }
        let leaked = ["trick-7", "curl-trick-7", "atftp-trick-7"].contains {
            rig.written($0).map { String(decoding: $0, as: UTF8.self).contains("secret") } ?? false
        }
        #expect(!leaked, "a symbolic link led out of the root")
        #expect(rig.server.statistics.refused == tricks.count * 3 && rig.server.statistics.started == 0)
        let put = try Command.run(
            "tftp",
            [
                "127.0.0.1", rig.port, "-m", "binary", "-c", "put", rig.root.appendingPathComponent("odd.bin").path,
                "uploaded.bin",
            ])
        #expect(
            put.stdout.contains("Error code 2") || put.stderr.contains("Error code 2"),
            "a write was not refused: \(put.stdout)\(put.stderr)")
        #expect(!FileManager.default.fileExists(atPath: rig.root.appendingPathComponent("uploaded.bin").path))
    }

    @Test func aWindowedTransferSurvivesLoss() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let fetch = try TFTPClient(port: rig.server.port).fetch(
            "sub/big.bin", blockSize: 1468, windowSize: 8, dropOnce: [3, 9, 40, 150])
        #expect(fetch.bytes == rig.files["sub/big.bin"])
        #expect(fetch.duplicates > 0, "the blocks after each loss came again")
        #expect(try await rig.settled { $0.completed == 1 }.completed == 1)
    }

    /// A lone lockstep transfer polls for its client's answers; a lost block makes the
    /// server wait for its timer instead, resend, and go back to polling.
    @Test func aLockstepTransferSurvivesLoss() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        let fetch = try TFTPClient(port: rig.server.port).fetch("sub/big.bin", blockSize: 1468, dropOnce: [3, 150])
        #expect(fetch.bytes == rig.files["sub/big.bin"])
        #expect(fetch.duplicates == 2, "each lost block came once more, and only it")
        let statistics = try await rig.settled { $0.completed == 1 }
        #expect(statistics.completed == 1)
        #expect(
            statistics.polledAnswers > 0, "a lone client on loopback answers promptly: the server polls for its answers"
        )
    }

    @Test func twoHundredTransfersAtOnceAllArriveWhole() async throws {
        var settings = TFTPServer.Settings()
        settings.maxTransfersPerSource = settings.maxTransfers
        let rig = try await Rig(settings: settings)
        defer { Task { await rig.server.stop() } }
        for (blockSize, windowSize) in [(1468, nil), (512, 8)] as [(Int, Int?)] {
            let outcome = try TFTPConcurrentFetch.run(
                port: rig.server.port, name: "sub/big.bin", count: 200, blockSize: blockSize, windowSize: windowSize)
            #expect(outcome.results.count == 200)
            #expect(
                outcome.results.allSatisfy { (try? $0.get().bytes) == rig.files["sub/big.bin"] },
                "blksize \(blockSize): a fetch failed or differed")
        }
        #expect(try await rig.settled { $0.completed == 400 }.completed == 400)
    }

    /// More block sizes than the server shares packets for: the rest are built as sent.
    @Test func everyBlockSizeIsServedThoughFewAreShared() async throws {
        let rig = try await Rig()
        defer { Task { await rig.server.stop() } }
        for blockSize in 500..<(500 + TFTPServer.SharedState.maxSharedPacketSets + 4) {
            let fetch = try TFTPClient(port: rig.server.port).fetch("odd.bin", blockSize: blockSize)
            #expect(fetch.bytes == rig.files["odd.bin"], "blksize \(blockSize)")
        }
    }

    /// When every slot is taken, a request takes the place of the oldest transfer whose
    /// client never acknowledged anything (a forged request, most likely); when every
    /// transfer under way is acknowledged, it is refused.
    @Test func aFullServerMakesRoomOnlyFromTransfersNobodyAcknowledged() async throws {
        var settings = TFTPServer.Settings()
        settings.maxTransfers = 1
        let rig = try await Rig(settings: settings)
        defer { Task { await rig.server.stop() } }
        let silent = try TFTPClient(port: rig.server.port)
        guard
            case .optionAcknowledgement = try silent.request(
                "sub/big.bin", options: [TFTPOption(name: "blksize", value: "512")])
        else {
            throw CommandFailure("the first transfer was not acknowledged")
        }
        let second = try Command.run(
            "tftp", ["127.0.0.1", rig.port, "-m", "binary", "-c", "get", "odd.bin", rig.out("second")])
        #expect(second.status == 0 && rig.written("second") == rig.files["odd.bin"], "\(second.stdout)\(second.stderr)")
        #expect(try await rig.settled { $0.abandoned == 1 }.abandoned == 1)

        let holder = try TFTPClient(port: rig.server.port)
        guard
            case .optionAcknowledgement = try holder.request(
                "sub/big.bin", options: [TFTPOption(name: "blksize", value: "512")])
        else {
            throw CommandFailure("the held transfer was not acknowledged")
        }
        try holder.acknowledge(0)
        let third = try Command.run(
            "tftp", ["127.0.0.1", rig.port, "-m", "binary", "-c", "get", "odd.bin", rig.out("third")])
        #expect((third.stdout + third.stderr).contains("server busy"), "\(third.stdout)\(third.stderr)")
    }

    /// One client address holds at most its share of the transfers.
    @Test func oneSourceHoldsAtMostItsShare() async throws {
        var settings = TFTPServer.Settings()
        settings.maxTransfersPerSource = 2
        let rig = try await Rig(settings: settings)
        defer { Task { await rig.server.stop() } }
        let held = try (0..<2).map { _ in try TFTPClient(port: rig.server.port) }
        for client in held {
            _ = try client.request("sub/big.bin", options: [TFTPOption(name: "blksize", value: "512")])
        }
        let refused = try Command.run(
            "tftp", ["127.0.0.1", rig.port, "-m", "binary", "-c", "get", "odd.bin", rig.out("refused")])
        #expect(
            (refused.stdout + refused.stderr).contains("transfers to this address"),
            "\(refused.stdout)\(refused.stderr)")
    }

    /// A client asking for a long timeout is not granted it, and a transfer whose first
    /// packet is never acknowledged is given up within the start timeout, not after five
    /// retransmissions of the timeout asked for.
    @Test func aSilentClientHoldsItsSlotForSecondsOnly() async throws {
        var settings = TFTPServer.Settings()
        settings.startTimeout = .seconds(1)
        let rig = try await Rig(settings: settings)
        defer { Task { await rig.server.stop() } }
        let silent = try TFTPClient(port: rig.server.port)
        guard
            case .optionAcknowledgement(let granted) = try silent.request(
                "sub/big.bin",
                options: [TFTPOption(name: "timeout", value: "255"), TFTPOption(name: "tsize", value: "0")])
        else {
            throw CommandFailure("the transfer was not acknowledged")
        }
        #expect(!granted.contains { $0.name == "timeout" }, "a 255 s timeout was granted: \(granted)")
        let statistics = try await rig.settled { $0.abandoned == 1 }
        #expect(statistics.abandoned == 1 && statistics.failed == 1)
    }
}
