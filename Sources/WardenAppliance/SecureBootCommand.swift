import ArgumentParser
import Foundation
import Server
import WardenCLI

/// `warden secureboot …`: the rack's UEFI Secure Boot keys (PK, KEK, db) in the state folder.
struct SecureBootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secureboot", abstract: "Create or show the rack's Secure Boot keys (PK, KEK and db).",
        subcommands: [Initialise.self, Show.self])

    struct Initialise: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init", abstract: "Create the Secure Boot keys, or take the operator's own.",
            discussion: """
                Warden creates an RSA-2048 key and a self-signed certificate for each of PK, KEK and db, unless \
                --pk-cert/--pk-key (and the same for kek and db) bring the operator's own. With --offline-pk, the \
                PK's key never touches the appliance: give its certificate alone. Keys are never replaced: a folder \
                that holds them already is refused.
                """)
        @OptionGroup var location: ServerCertificateCommand.Location
        @Option(help: "The PK certificate to enrol instead of a new one (PEM).") var pkCert: String?
        @Option(help: "The PK certificate's private key (PEM).") var pkKey: String?
        @Option(help: "The KEK certificate to enrol instead of a new one (PEM).") var kekCert: String?
        @Option(help: "The KEK certificate's private key (PEM).") var kekKey: String?
        @Option(help: "The db certificate to sign images with instead of a new one (PEM).") var dbCert: String?
        @Option(help: "The db certificate's private key (PEM).") var dbKey: String?
        @Flag(help: "Keep the PK's private key off the appliance (needs --pk-cert alone).") var offlinePK = false
        @Option(help: "Another certificate to keep in db, for example a vendor's UEFI CA for option ROMs (repeatable).")
        var extraDBCert: [String] = []

        func run() throws {
            let (_, state) = try location.open()
            var request = SecureBootKeys.Request()
            request.offlinePK = offlinePK
            let pairs: [(SecureBootKeys.Variable, String?, String?)] = [
                (.pk, pkCert, pkKey), (.kek, kekCert, kekKey), (.db, dbCert, dbKey),
            ]
            for (variable, certificate, key) in pairs {
                guard let certificate else {
                    if key != nil {
                        throw ServeFailure("--\(variable.rawValue.lowercased())-key needs its certificate")
                    }
                    continue
                }
                let name = variable.rawValue
                request.supplied[variable] = SecureBootKeys.Supplied(
                    certificatePEM: try pem(certificate, as: "the \(name) certificate"),
                    keyPEM: try key.map { try pem($0, as: "the \(name) key") })
            }
            request.extraDBCertificates = try extraDBCert.map { try pem($0, as: "an extra db certificate") }
            let keys = SecureBootKeys(folder: state)
            do { try keys.initialise(request) } catch { throw ServeFailure(error.description) }
            do { print(SecureBootCommand.table(try keys.entries())) } catch { throw ServeFailure(error.description) }
        }

        private func pem(_ path: String, as what: String) throws -> String {
            String(decoding: try InputFile.read(path, as: what), as: UTF8.self)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the certificates of PK, KEK and db with their SHA-256 fingerprints.")
        @OptionGroup var location: ServerCertificateCommand.Location
        @Option(name: [.customShort("o"), .long], help: "Output format.") var format: OutputFormat = .text

        func run() throws {
            let (_, state) = try location.open()
            let entries: [SecureBootKeys.Entry]
            do { entries = try SecureBootKeys(folder: state).entries() } catch { throw ServeFailure(error.description) }
            guard !entries.isEmpty else {
                throw ServeFailure("\(state.path) holds no Secure Boot keys: run `warden secureboot init`")
            }
            guard try !format.printed(entries) else { return }
            print(SecureBootCommand.table(entries))
        }
    }

    /// One line per certificate: variable, fingerprint, subject, and whether its key is away.
    static func table(_ entries: [SecureBootKeys.Entry]) -> String {
        entries.map { entry in
            [entry.variable.rawValue, entry.sha256, entry.subject, entry.keyHeld ? "" : "(key not held)"]
                .joined(separator: "\t").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
