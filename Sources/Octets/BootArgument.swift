/// What a boot script can pass on as an argument (an image's kernel command line, say):
/// printable ASCII without the characters iPXE or a shell would read as more than text.
/// Both the server, which refuses anything else, and the CLI, which checks before it
/// builds, ask here.
public enum BootArgument {
    /// The longest kernel command line an image may carry.
    public static let maxCommandLineBytes = 4_096

    /// Whether `value` passes through a boot script as it is.
    public static func isSafe(_ value: String) -> Bool {
        !value.contains { $0.isNewline || "$#|&\\;\"'".contains($0) || !$0.isASCII || ($0.asciiValue ?? 0) < 0x20 }
    }

    /// Why `commandLine` cannot be an image's kernel command line; nil when it can.
    public static func commandLineProblem(_ commandLine: String) -> String? {
        guard isSafe(commandLine) else {
            return
                "the command line holds characters a boot script cannot pass on ($ # | & \\ ; quotes, control characters, non-ASCII)"
        }
        guard commandLine.utf8.count <= maxCommandLineBytes else {
            return "the command line is longer than \(maxCommandLineBytes) bytes"
        }
        return nil
    }
}
