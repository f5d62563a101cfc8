import ArgumentParser
import Foundation
import Server
import Store
import WardenCrypto

/// `warden keys …`: the key-encryption key every appliance of a database holds.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Rotate the key-encryption key, and take a rotated one on other appliances.",
        subcommands: [Rotate.self, Import.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every secret under a new key-encryption key (after an appliance was removed, say).",
            discussion: """
                In one transaction, audited: afterwards the old key opens nothing in the database. The new key is \
                written to this appliance's state folder (a running `warden serve` here takes it without a restart) \
                and, sealed under a passphrase, to --out for the other appliances (`warden keys import`), which \
                cannot release secrets until they take it.
                """)

        @OptionGroup var location: ApplianceCommand.Location

        @Option(help: "Where to write the new key for the other appliances (a new file, 0600); needed when they exist.")
        var out: String?

        @OptionGroup var passphrase: PassphraseOption

        func run() async throws {
            let (configuration, state, store) = try location.open()
            let others = try store.appliances().filter { $0.state == .active && $0.name != configuration.applianceName }
            guard others.isEmpty || out != nil else {
                throw ValidationError(
                    "appliances \(others.map(\.name).joined(separator: ", ")) need the new key too: give --out FILE")
            }
            let fresh = KeyEncryptionKey.generate()
            if let out {
                let passphrase = try self.passphrase.read(prompt: "Passphrase for the key bundle: ", confirm: true)
                try writeNew(out, try KeyBundle.sealed(fresh, passphrase: passphrase))
            }
            // The new key is on disk before any secret depends on it; moved in place after the commit.
            let path = state.url(.keyEncryptionKey).path
            try fresh.write(to: path + ".next")
            let count: Int
            do {
                count = try store.rotateKeyEncryptionKey(
                    to: fresh, actor: "appliance/\(configuration.applianceName) (keys rotate)")
            } catch {
                unlink(path + ".next")
                if let out { unlink(out) }
                throw error
            }
            // A running server here may have moved it already, finding the secrets under it.
            if rename(path + ".next", path) != 0, errno != ENOENT {
                throw ValidationError("the secrets are sealed under \(path).next: move it to \(path) now")
            }
            print("\(count) secrets re-sealed under key-encryption key \(fresh.identifier)")
            if let out {
                print("the new key, sealed, is in \(out): run `warden keys import \(out)` on every other appliance")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Take the key-encryption key another appliance rotated to (from its key bundle).",
            discussion: """
                The key must open the database's secrets; any this appliance sealed under its old key since the \
                rotation are re-sealed under it. A running `warden serve` here takes it without a restart.
                """)

        @OptionGroup var location: ApplianceCommand.Location

        @Argument(help: "The key bundle `warden keys rotate --out` wrote.")
        var bundle: String

        @OptionGroup var passphrase: PassphraseOption

        func run() async throws {
            let (configuration, state, store) = try location.open()
            guard let bytes = FileManager.default.contents(atPath: bundle) else {
                throw ValidationError("cannot read \(bundle)")
            }
            let passphrase = try self.passphrase.read(prompt: "Passphrase: ", confirm: false)
            let key = try KeyBundle.open([UInt8](bytes), passphrase: passphrase)
            let path = state.url(.keyEncryptionKey).path
            // Secrets this appliance sealed under its old key since the rotation move to the new one.
            let resealed = try store.adoptKeyEncryptionKey(
                key, actor: "appliance/\(configuration.applianceName) (keys import)")
            unlink(path + ".next")
            try key.write(to: path + ".next")
            // A running server here may have moved it already, finding the database's key check under it.
            guard rename(path + ".next", path) == 0 || errno == ENOENT else {
                throw ValidationError("cannot move \(path).next to \(path)")
            }
            print(
                "this appliance now holds key-encryption key \(key.identifier)"
                    + (resealed > 0 ? " (\(resealed) secrets sealed since the rotation re-sealed under it)" : ""))
        }
    }
}

/// Writes `bytes` to a new file at `path`, readable by its owner only.
func writeNew(_ path: String, _ bytes: [UInt8]) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard descriptor >= 0 else { throw ValidationError("\(path) exists or cannot be created") }
    defer { close(descriptor) }
    guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count, fsync(descriptor) == 0
    else { throw ValidationError("cannot write \(path)") }
}
