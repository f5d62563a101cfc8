import Foundation
import Testing
import TestSupport

/// `warden serve` started as an operator starts it: outside the checkout, from a
/// configuration file of its own, beside other processes. What it cannot do, it says in one
/// line and stops.
@Suite struct ServeStartTests {
    /// Runs `warden serve ARGUMENTS` in `folder` until it serves (then stops it) or exits;
    /// returns its exit status (nil: it served) and its output. The API takes a random port
    /// (another one when that is taken) unless `environment` names one.
    private static func serve(_ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws
        -> (status: Int32?, log: String)
    {
        let settings = WardenServerProcess.bootPortsAnywhere.merging(environment) { $1 }
        guard settings["WARDEN_API_PORT"] == nil else { return try serveOnce(arguments, in: folder, settings) }
        for _ in 0..<5 {
            let outcome = try serveOnce(
                arguments, in: folder,
                settings.merging(["WARDEN_API_PORT": String(Int.random(in: 45_000..<50_000))]) { $1 })
            if !outcome.log.contains("(HTTPS API) on 127.0.0.1 is in use") { return outcome }
        }
        throw CommandFailure("five random API ports were all taken")
    }

    private static func serveOnce(_ arguments: [String], in folder: URL, _ environment: [String: String]) throws
        -> (status: Int32?, log: String)
    {
        let log = folder.appendingPathComponent("serve-\(UUID().uuidString.prefix(8)).log")
        let process = try Command.start(
            TestPaths.wardenBinary.path, ["serve"] + arguments, in: folder, environment: environment, log: log)
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
        }
        for _ in 0..<400 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if text.contains("msg=\"serving https://") { return (nil, text) }
            if !process.isRunning {
                process.waitUntilExit()
                return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
            }
            usleep(50_000)
        }
        throw CommandFailure("warden serve neither served nor stopped within 20 s")
    }

    /// Relative paths in a configuration file are its folder's; without a firmware manifest,
    /// Debian's ipxe package fills the TFTP root.
    @Test func pathsInAConfigurationFileAreRelativeToIt() throws {
        let folder = try TestPaths.temporaryDirectory("outside")
        let site = folder.appendingPathComponent("etc/warden")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try Data("files:\n  ipxe.efi: /usr/lib/ipxe/ipxe.efi\n".utf8).write(
            to: site.appendingPathComponent("ipxe.yaml"))
        try Data("stateDir: state\nfirmware: ipxe.yaml\n".utf8).write(to: site.appendingPathComponent("warden.yaml"))
        let configured = try Self.serve(["--config", "etc/warden/warden.yaml"], in: folder)
        #expect(configured.status == nil, "\(configured.log)")
        let tftp = site.appendingPathComponent("state/tftp")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tftp.path) == ["ipxe.efi"])

        let defaults = try Self.serve([], in: folder)
        #expect(defaults.status == nil, "\(defaults.log)")
        #expect(
            Set(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(".warden/tftp").path))
                == ["ipxe.efi", "snponly.efi", "undionly.kpxe"])
    }

    /// Once the rack has Secure Boot keys, the next start fills the TFTP root with iPXE's EFI
    /// builds signed with the db key.
    @Test func withSecureBootKeysTheTFTPRootIsSigned() throws {
        let folder = try TestPaths.temporaryDirectory("secureboot-serve")
        let first = try Self.serve([], in: folder)
        #expect(first.status == nil, "\(first.log)")
        let state = folder.appendingPathComponent(".warden")
        let ipxe = state.appendingPathComponent("tftp/ipxe.efi").path
        let certificate = state.appendingPathComponent("secureboot/db.pem").path
        let initialised = try Command.run(
            TestPaths.wardenBinary.path, ["secureboot", "init", "--state-dir", state.path])
        #expect(initialised.status == 0, "\(initialised.stderr)")
        #expect(try Command.run("sbverify", ["--cert", certificate, ipxe]).status != 0, "unsigned before")
        let signed = try Self.serve([], in: folder)
        #expect(signed.status == nil && signed.log.contains("signed with the Secure Boot db key"), "\(signed.log)")
        let verified = try Command.run("sbverify", ["--cert", certificate, ipxe])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
    }

    /// A manifest that is missing, or that leaves the TFTP root empty, stops the start.
    @Test func nothingToBootIsRefused() throws {
        let folder = try TestPaths.temporaryDirectory("no-firmware")
        try Data("files:\n  ipxe.efi: /nonexistent/ipxe.efi\n".utf8).write(to: folder.appendingPathComponent("fw.yaml"))
        let empty = try Self.serve([], in: folder, environment: ["WARDEN_FIRMWARE": "fw.yaml"])
        #expect(empty.status == 1 && empty.log.contains("would hold no boot file"), "\(empty.log)")
        let absent = try Self.serve([], in: folder, environment: ["WARDEN_FIRMWARE": "nope.yaml"])
        #expect(
            absent.status == 1 && absent.log.contains("the firmware manifest nope.yaml does not exist"), "\(absent.log)"
        )
    }

    /// A port another process holds is named with its listener and its setting.
    @Test func aPortInUseNamesItsListener() throws {
        let holder = try WardenServerProcess()
        let folder = try TestPaths.temporaryDirectory("port-in-use")
        let bootHTTP = try Self.serve([], in: folder, environment: ["WARDEN_BOOT_HTTP_PORT": String(holder.port)])
        #expect(
            bootHTTP.status == 1
                && bootHTTP.log.contains(
                    "port \(holder.port) (boot HTTP) on 127.0.0.1 is in use by another process: stop it, or set bootHTTPPort (WARDEN_BOOT_HTTP_PORT)"
                ), "\(bootHTTP.log)")
        let api = try Self.serve([], in: folder, environment: ["WARDEN_API_PORT": String(holder.port)])
        #expect(
            api.status == 1 && api.log.contains("port \(holder.port) (HTTPS API) on 127.0.0.1 is in use"), "\(api.log)")
    }

    /// serverNames changed after the first start are said at start; `server-cert reissue`
    /// puts them in a new certificate from the same CA, never under a running server.
    @Test func changedServerNamesAreSaidAndReissued() throws {
        let folder = try TestPaths.temporaryDirectory("server-names")
        #expect(try Self.serve([], in: folder).status == nil)
        let renamed = ["WARDEN_SERVER_NAMES": "warden.example, 127.0.0.1"]
        let warned = try Self.serve([], in: folder, environment: renamed)
        #expect(
            warned.status == nil
                && warned.log.contains(
                    "serverNames (warden.example, 127.0.0.1) differ from the names of the server certificate (localhost, 127.0.0.1)"
                ), "\(warned.log)")

        let reissued = try Command.run(
            TestPaths.wardenBinary.path, ["server-cert", "reissue"], in: folder, environment: renamed)
        #expect(reissued.status == 0, "\(reissued.stderr)")
        let names = try Command.run(
            "openssl", ["x509", "-noout", "-ext", "subjectAltName", "-in", ".warden/server.pem"], in: folder)
        #expect(names.stdout.contains("DNS:warden.example, IP Address:127.0.0.1"), "\(names.stdout)")
        let verified = try Command.run(
            "openssl", ["verify", "-CAfile", ".warden/ca.pem", "-purpose", "sslserver", ".warden/server.pem"],
            in: folder)
        #expect(verified.status == 0, "the same CA vouches for it")
        let quiet = try Self.serve([], in: folder, environment: renamed)
        #expect(quiet.status == nil && !quiet.log.contains("differ from the names"), "\(quiet.log)")

        let running = try WardenServerProcess()
        let refused = try Command.run(
            TestPaths.wardenBinary.path, ["server-cert", "reissue", "--state-dir", running.stateDir.path])
        #expect(refused.status == 1 && refused.stderr.contains("held by warden serve"), "\(refused.stderr)")
    }
}
