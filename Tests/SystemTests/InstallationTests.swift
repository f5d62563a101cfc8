import Foundation
import Testing
import TestSupport

/// Warden as a system installs it: `make install-files` (what `make install` copies), the
/// systemd unit that `systemd-analyze verify` accepts, `Type=notify` readiness, man pages,
/// and shell completion that asks the server for names.
@Suite struct InstallationTests {
    @Test func installedFilesAndTheUnitVerify() throws {
        let root = try TestPaths.temporaryDirectory("install")
        let prefix = root.appendingPathComponent("usr").path
        let installed = try Command.run(
            "make",
            [
                "-C", TestPaths.packageRoot.path, "install-files",
                "BIN=" + TestPaths.wardenBinary.deletingLastPathComponent().path, "PREFIX=" + prefix,
                "SYSCONFDIR=" + root.appendingPathComponent("etc").path,
                "OUT=" + root.appendingPathComponent("out").path,
            ])
        #expect(installed.status == 0, "\(installed.stderr)")
        for file in [
            "bin/warden", "bin/warden-agent", "lib/systemd/system/warden.service", "share/man/man1/warden.1",
            "share/man/man1/warden.serve.1", "share/man/man1/warden.machine.enroll.1", "share/man/man1/warden-agent.1",
            "share/bash-completion/completions/warden", "share/zsh/vendor-completions/_warden",
            "share/fish/vendor_completions.d/warden.fish",
        ] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + file), "\(file) was not installed")
        }
        let configuration = try String(
            contentsOf: root.appendingPathComponent("etc/warden/warden.yaml"), encoding: .utf8)
        #expect(configuration.contains("\nstateDir: /var/lib/warden\n"), "the unit's state folder, not one beside /etc")
        let unit = prefix + "/lib/systemd/system/warden.service"
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(
            text.contains("ExecStart=\(prefix)/bin/warden serve --config \(root.path)/etc/warden/warden.yaml")
                && text.contains("Type=notify") && text.contains("ProtectSystem=strict")
                && text.contains("NoNewPrivileges=yes") && text.contains("StateDirectory=warden"), "\(text)")
        // It also finds the installed man pages its Documentation= names.
        let verified = try Command.run(
            "systemd-analyze", ["verify", unit], environment: ["MANPATH": prefix + "/share/man"])
        #expect(verified.status == 0 && verified.stderr.isEmpty, "\(verified.stderr)")
        let bash = try Command.run("bash", ["-n", prefix + "/share/bash-completion/completions/warden"])
        #expect(bash.status == 0, "\(bash.stderr)")
        let page = try String(contentsOfFile: prefix + "/share/man/man1/warden.machine.enroll.1", encoding: .utf8)
        #expect(
            page.contains(".It Fl -ek Ar ek") && page.contains(".It Fl -role Ar role"), "from the command's options")
    }

    /// `Type=notify`: one READY=1 datagram once the server serves, STOPPING=1 as it stops.
    @Test func serveTellsSystemdWhenItIsReady() throws {
        let folder = try TestPaths.temporaryDirectory("notify")
        let socket = folder.appendingPathComponent("notify.sock").path
        let received = folder.appendingPathComponent("received")
        let listener = try Command.start(
            "python3",
            [
                "-c",
                """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(60)
                with open(sys.argv[2], "w") as out:
                    for _ in range(2):
                        out.write(s.recv(4096).decode() + "\\n---\\n"); out.flush()
                """, socket, received.path,
            ])
        defer { if listener.isRunning { kill(listener.processIdentifier, SIGKILL) } }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
        let server = try WardenServerProcess(environment: ["NOTIFY_SOCKET": socket])
        let ready = try String(contentsOf: received, encoding: .utf8)
        #expect(ready.hasPrefix("READY=1\nSTATUS=serving https://127.0.0.1:\(server.port)"), "\(ready)")
        server.stop()
        listener.waitUntilExit()
        #expect(try String(contentsOf: received, encoding: .utf8).contains("STOPPING=1"))
    }

    /// The shells ask `warden ---completion …` for names: it answers with the server's.
    @Test func completionAsksTheServerForNames() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        try rig.enroll(tpm, as: "node-1")
        try rig.enroll(try SoftwareTPM(), as: "other-2")
        let connection = ["--server", rig.server.url, "--state-dir", rig.server.stateDir.path]
        let words = ["warden", "machine", "show"] + connection + ["no"]
        let completed = try Command.run(
            TestPaths.wardenBinary.path,
            ["---completion", "machine", "show", "--", "positional@0", String(words.count - 1), "2"] + words)
        #expect(completed.status == 0 && completed.stdout.split(separator: "\n") == ["node-1"], "\(completed)")
        let enrolling = ["warden", "machine", "enroll", "x"] + connection + ["--cluster", ""]
        let clusters = try Command.run(
            TestPaths.wardenBinary.path,
            ["---completion", "machine", "enroll", "--", "--cluster", String(enrolling.count - 1), "0"] + enrolling)
        #expect(clusters.stdout.split(separator: "\n") == ["rack-a"], "\(clusters)")
    }
}
