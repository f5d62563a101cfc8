import Foundation
import Server
import Testing
import TestSupport

@Suite struct ConfigurationTests {
    /// Config/warden.yaml writes out the embedded defaults: the README's numbers hold either
    /// way, and its state folder (relative to the file) is the checkout's `.warden`, where
    /// `make run` in the checkout finds it without the file too.
    @Test func theShippedFileIsTheDefaults() throws {
        let shipped = try WardenConfiguration.load(
            file: TestPaths.packageRoot.appendingPathComponent("Config/warden.yaml").path, environment: [:])
        var defaults = WardenConfiguration()
        defaults.stateDir = TestPaths.packageRoot.appendingPathComponent(".warden").path
        #expect(shipped == defaults)
        #expect(shipped.apiPort == 8443 && shipped.bootHTTPPort == 8080 && shipped.tftpPort == 6969)
        #expect(shipped.proxyDHCPPort == 6767 && shipped.proxyDHCPAltPort == 4011 && shipped.apiHost == "127.0.0.1")
    }

    /// Firmware/firmware.yaml writes out the manifest an empty `firmware` setting means.
    @Test func theShippedManifestIsDebiansPackage() throws {
        let shipped = try FirmwareFiles(
            path: TestPaths.packageRoot.appendingPathComponent("Firmware/firmware.yaml").path)
        #expect(shipped == FirmwareFiles.debianIPXE)
    }

    /// Paths in a file are its folder's; in a variable, the working directory's.
    @Test func relativePathsFollowWhereTheyWereWritten() throws {
        let folder = try TestPaths.temporaryDirectory("config")
        let file = folder.appendingPathComponent("warden.yaml")
        try Data("stateDir: state\nfirmware: ipxe.yaml\ntpmVendorCAs: [cas/a.pem, /etc/b.pem]\n".utf8).write(to: file)
        let loaded = try WardenConfiguration.load(
            file: file.path, environment: ["WARDEN_DATABASE_PASSWORD_FILE": "secret"])
        #expect(loaded.stateDir == folder.appendingPathComponent("state").path)
        #expect(loaded.firmware == folder.appendingPathComponent("ipxe.yaml").path)
        #expect(loaded.tpmVendorCAs == [folder.appendingPathComponent("cas/a.pem").path, "/etc/b.pem"])
        #expect(loaded.databasePasswordFile == "secret")
    }

    @Test func theEnvironmentOverridesTheFile() throws {
        let file = try TestPaths.temporaryDirectory("config").appendingPathComponent("warden.yaml")
        try Data("apiPort: 9443\nstateDir: /var/lib/warden\n".utf8).write(to: file)
        let loaded = try WardenConfiguration.load(
            file: file.path,
            environment: ["WARDEN_API_PORT": "10443", "WARDEN_SERVER_NAMES": "warden.example, 10.0.0.2"])
        #expect(
            loaded.apiPort == 10443 && loaded.stateDir == "/var/lib/warden"
                && loaded.serverNames == ["warden.example", "10.0.0.2"])
    }

    @Test func mistakesAreNamed() throws {
        let file = try TestPaths.temporaryDirectory("config").appendingPathComponent("warden.yaml")
        try Data("apiPrt: 9443\n".utf8).write(to: file)
        #expect(throws: ConfigurationError.invalid(file.path, "unknown setting apiPrt")) {
            try WardenConfiguration.load(file: file.path, environment: [:])
        }
        #expect(throws: ConfigurationError.invalid("WARDEN_API_PORT", "https is not a number")) {
            try WardenConfiguration.load(file: nil, environment: ["WARDEN_API_PORT": "https"])
        }
        #expect(throws: ConfigurationError.invalid("apiPort", "70000 is not a port")) {
            try WardenConfiguration.load(file: nil, environment: ["WARDEN_API_PORT": "70000"])
        }
        #expect(
            throws: ConfigurationError.invalid(
                "applianceName", "site a is not a name of 1 to 63 letters, digits, dots, hyphens or underscores")
        ) {
            try WardenConfiguration.load(file: nil, environment: ["WARDEN_APPLIANCE_NAME": "site a"])
        }
        #expect(
            try WardenConfiguration.load(file: nil, environment: ["WARDEN_APPLIANCE_NAME": "warden-b.site_2"])
                .applianceName == "warden-b.site_2")
        #expect(throws: ConfigurationError.unreadable("/nonexistent/warden.yaml")) {
            try WardenConfiguration.load(file: "/nonexistent/warden.yaml", environment: [:])
        }
    }
}
