import ArgumentParser
import Foundation
import Server
import UEFIVariables
import WardenCLI

/// `warden secureboot …`: the rack's UEFI Secure Boot keys (PK, KEK, db) in the state folder.
struct SecureBootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secureboot", abstract: "Create or show the rack's Secure Boot keys (PK, KEK and db).",
        subcommands: [Initialise.self, Show.self, Updates.self, Complete.self])

    struct Initialise: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init", abstract: "Create the Secure Boot keys, or take the operator's own.",
            discussion: """
                Warden creates an RSA-2048 key and a self-signed certificate for each of PK, KEK and db, unless \
                --pk-cert/--pk-key (and the same for kek and db) bring the operator's own. With --offline-pk, the \
                PK's key never touches the appliance: give its certificate alone. Keys are never replaced: a folder \
                that holds them already is refused. A new state folder is initialised first, as `warden serve` would.
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
            let (_, state) = try location.open(initialising: true)
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

    struct Updates: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the authenticated variable updates that enrol the keys (PK, KEK, db).",
            discussion: """
                For each variable, VAR.esl (its EFI signature list) and VAR.auth (the update, signed: PK by the PK \
                itself, KEK by the PK, db by the KEK), byte for byte what efitools' sign-efi-sig-list writes. A \
                signer whose key is offline gets VAR.tbs instead, the bundle to sign where the key is; then \
                `warden secureboot complete VAR --time TIME --signature FILE` writes VAR.auth.
                """)
        @OptionGroup var location: ServerCertificateCommand.Location
        @Option(help: "The folder the files go to (created).") var out: String
        @Option(help: "The update's time, UTC (YYYY-MM-DDTHH:MM:SSZ; default: now).") var time: String?

        func run() throws {
            let (_, state) = try location.open()
            let date = try time.map(SecureBootCommand.date) ?? Date()
            let updates: [SecureBootKeys.VariableUpdate]
            do {
                updates = try SecureBootKeys(folder: state).variableUpdates(time: SecureBootVariable.time(date))
            } catch {
                throw ServeFailure(error.description)
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let stamp = SecureBootCommand.text(date)
            for update in updates {
                let name = update.variable.rawValue
                try Data(update.signatureList).write(to: URL(fileURLWithPath: "\(out)/\(name).esl"))
                if let signed = update.signed {
                    try Data(signed).write(to: URL(fileURLWithPath: "\(out)/\(name).auth"))
                    print("\(out)/\(name).auth: signed by \(update.signer.rawValue), time \(stamp)")
                    continue
                }
                try Data(update.toBeSigned).write(to: URL(fileURLWithPath: "\(out)/\(name).tbs"))
                let key = update.signer.rawValue.lowercased()
                print(
                    """
                    \(out)/\(name).tbs: to sign with the \(update.signer.rawValue) key where it is:
                      openssl smime -sign -binary -noattr -md sha256 -in \(name).tbs -signer \(key).pem -inkey \(key).key -outform DER -out \(name).p7
                      warden secureboot complete \(name) --time \(stamp) --signature \(name).p7 --out \(out)
                    """)
            }
        }
    }

    struct Complete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write VAR.auth from the signature its signer made offline over VAR.tbs.")
        @OptionGroup var location: ServerCertificateCommand.Location
        @Argument(help: "The variable: PK, KEK or db.") var variable: String
        @Option(help: "The time the bundle was written for (as `secureboot updates` printed it).") var time: String
        @Option(help: "The detached PKCS#7 signature (DER), as openssl smime -outform DER writes it.")
        var signature: String
        @Option(help: "The folder VAR.auth goes to.") var out: String = "."

        func run() throws {
            let (_, state) = try location.open()
            guard let target = SecureBootVariable(rawValue: variable) else {
                throw ValidationError("\(variable) is not PK, KEK or db")
            }
            let bytes = try InputFile.read(signature, as: "the signature")
            let time = SecureBootVariable.time(try SecureBootCommand.date(time))
            let update: [UInt8]
            do {
                update = try SecureBootKeys(folder: state).completedUpdate(of: target, time: time, signature: bytes)
            } catch { throw ServeFailure(error.description) }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try Data(update).write(to: URL(fileURLWithPath: "\(out)/\(variable).auth"))
            print("\(out)/\(variable).auth: signed by \(SecureBootKeys.signer(of: target).rawValue)")
        }
    }

    /// `text` as a UTC time to the second (YYYY-MM-DDTHH:MM:SSZ).
    static func date(_ text: String) throws -> Date {
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw ValidationError("\(text) is not a UTC time as YYYY-MM-DDTHH:MM:SSZ")
        }
        return date
    }

    /// `date` as ``date(_:)`` reads it.
    static func text(_ date: Date) -> String { date.formatted(.iso8601) }

    /// One line per certificate: variable, fingerprint, subject, and whether its key is away.
    static func table(_ entries: [SecureBootKeys.Entry]) -> String {
        entries.map { entry in
            [entry.variable.rawValue, entry.sha256, entry.subject, entry.keyHeld ? "" : "(key not held)"]
                .joined(separator: "\t").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
