import ArgumentParser
import Foundation
import Server
import WardenCrypto

/// `--passphrase-file`, shared by the commands that seal or open a bundle.
struct PassphraseOption: ParsableArguments {
    @Option(help: "A file whose first line is the passphrase (not readable by everyone); default: ask.")
    var passphraseFile: String?

    /// The passphrase, from the file or typed (twice when `confirm`: a new one).
    func read(prompt: String, confirm: Bool) throws -> Secret {
        try PassphraseInput.read(file: passphraseFile, prompt: prompt, confirm: confirm)
    }
}

/// A passphrase from a file (`--passphrase-file`, its first line, not readable by everyone)
/// or typed at the terminal without echo; never from an argument, which `ps` would show.
enum PassphraseInput {
    /// Why no passphrase was read.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The passphrase; typed twice when `confirm` (a new one).
    static func read(file: String?, prompt: String, confirm: Bool) throws -> Secret {
        if let file { return try WardenConfiguration.secret(in: file, naming: "--passphrase-file") }
        let first = try typed(prompt)
        guard confirm else { return first }
        guard try typed("Again: ") == first else { throw Failure(description: "the two passphrases differ") }
        return first
    }

    /// One line typed at the controlling terminal with echo off.
    private static func typed(_ prompt: String) throws -> Secret {
        let terminal = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard terminal >= 0 else {
            throw Failure(description: "no terminal to ask for the passphrase: give --passphrase-file FILE")
        }
        defer { close(terminal) }
        var saved = termios()
        guard tcgetattr(terminal, &saved) == 0 else {
            throw Failure(description: "cannot switch the terminal's echo off")
        }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        _ = tcsetattr(terminal, TCSAFLUSH, &silent)
        defer {
            _ = tcsetattr(terminal, TCSAFLUSH, &saved)
            _ = Foundation.write(terminal, "\n", 1)
        }
        _ = prompt.withCString { Foundation.write(terminal, $0, strlen($0)) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Foundation.read(terminal, &byte, 1) == 1, byte != 0x0a, line.count < 1_024 { line.append(byte) }
        return Secret(bytes: line.last == 0x0d ? Array(line.dropLast()) : line)
    }
}
