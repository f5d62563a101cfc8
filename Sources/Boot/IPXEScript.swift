import Octets

/// An iPXE script Warden hands out, built from parts it controls: every value placed in a
/// script is checked first, so nothing a client sends can add a command.
public struct IPXEScript: Sendable, Equatable {
    /// The script's text, starting with `#!ipxe`.
    public let text: String

    private init(lines: [String]) { text = (["#!ipxe"] + lines).joined(separator: "\n") + "\n" }

    /// Asks iPXE again, at `base` (`http://10.213.0.1:80`: the address the request came to,
    /// since Debian's 2019 iPXE does not resolve a URL without a scheme), with the variables
    /// that identify the machine.
    public static func identify(base: String) -> IPXEScript {
        IPXEScript(lines: [
            "chain \(base)/boot.ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}&arch=${buildarch}"
        ])
    }

    /// Boots one EFI file (a Unified Kernel Image) with `commandLine`, exactly; with
    /// `verify`, iPXE first checks the file against its `.sig` (`imgverify`).
    public static func chainEFI(machine: String, url: String, commandLine: String, verify: Bool) throws(ScriptError)
        -> IPXEScript
    {
        try check(url, commandLine)
        var lines = [
            "echo Warden: booting \(try exactly(machine))", "kernel \(url) \(commandLine)".trimmingTrailingSpace,
        ]
        if verify { lines.append("imgverify \(Self.fileName(url)) \(url).sig") }
        lines.append("boot")
        return IPXEScript(lines: lines)
    }

    /// Boots a kernel and its initrd (legacy BIOS, whose firmware measures neither).
    public static func chainKernel(
        machine: String, kernelURL: String, initrdURL: String, commandLine: String, verify: Bool
    ) throws(ScriptError) -> IPXEScript {
        try check(kernelURL, initrdURL, commandLine)
        var lines = [
            "echo Warden: booting \(try exactly(machine)) (legacy BIOS: kernel and initrd are not measured)",
            "kernel \(kernelURL) initrd=initrd \(commandLine)".trimmingTrailingSpace,
            "initrd --name initrd \(initrdURL)",
        ]
        if verify {
            lines += ["imgverify \(Self.fileName(kernelURL)) \(kernelURL).sig", "imgverify initrd \(initrdURL).sig"]
        }
        lines.append("boot")
        return IPXEScript(lines: lines)
    }

    /// Says `message` and gives the machine back to its firmware's next boot device.
    public static func exit(_ message: String) -> IPXEScript {
        IPXEScript(lines: ["echo Warden: \(echoable(message))", "sleep 5", "exit 1"])
    }

    /// Says `message` and never boots: the machine waits, reminding whoever looks at it.
    public static func refuse(_ message: String) -> IPXEScript {
        IPXEScript(lines: [
            ":refused", "echo Warden refuses to boot this machine: \(echoable(message))", "sleep 60", "goto refused",
        ])
    }

    /// A value that may not go into a script.
    public enum ScriptError: Error, Sendable, Equatable {
        case unsafe(String)
    }

    /// Text with iPXE's special characters (`$`, `#`, `\`, `"`, `'`, `&`, `|`, `;` and
    /// control characters, newlines first) replaced, for `echo`.
    static func echoable(_ message: String) -> String {
        String(
            message.map {
                $0.isASCII && !$0.isNewline && ($0.asciiValue ?? 0) >= 0x20 && !"$#\\\"'&|;".contains($0) ? $0 : "_"
            })
    }

    /// Refuses values that would change a command: iPXE expands `${…}` and splits at `||`,
    /// `&&` and newlines; URLs and command lines come from Warden's catalogue, so a refusal
    /// here means the catalogue holds something it never should.
    private static func check(_ values: String...) throws(ScriptError) {
        if let unsafe = values.first(where: { !BootArgument.isSafe($0) }) { throw .unsafe(unsafe) }
    }

    /// `name` itself, when it needs no replacement for `echo`.
    private static func exactly(_ name: String) throws(ScriptError) -> String {
        guard echoable(name) == name else { throw .unsafe(name) }
        return name
    }

    private static func fileName(_ url: String) -> String { String(url.split(separator: "/").last ?? "") }
}

private extension String {
    var trimmingTrailingSpace: String { hasSuffix(" ") ? String(dropLast()) : self }
}
