import ArgumentParser
import Audit
import Foundation
import Server
import Store
import WardenAPI
import WardenCLI
import WardenClient

/// `warden audit …`
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Export the audit log as a signed bundle, and verify bundles offline.",
        subcommands: [Export.self, Verify.self, Key.self])

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the audit public key to pin with `audit verify --key`.",
            discussion: """
                Through the admin API (an operator or auditor certificate): the PEM on standard output, its \
                fingerprint on standard error, so that `warden audit key > audit-key.pem` keeps the key and shows \
                the fingerprint to compare with the one the appliance's operator reads out.
                """)
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let key = try await admin.call(.GET, "/v1/audit/key", as: AdminMessages.AuditKey.self)
            // Checked here: what is written is what an auditor will trust.
            guard (try? AuditPublicKey(pem: key.pem))?.fingerprint == key.fingerprint else {
                InputFile.printError("the server sent an audit key that does not match its own fingerprint")
                throw ExitStatus.rejected
            }
            if try admin.format.printed(key) { return }
            print(key.pem, terminator: key.pem.hasSuffix("\n") ? "" : "\n")
            FileHandle.standardError.write(Data("audit key fingerprint (SHA-256): \(key.fingerprint)\n".utf8))
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a contiguous stretch of the audit chain, with its evidence, to a signed .tar.gz.",
            discussion: """
                By default through the admin API (an operator or auditor certificate); with --local, on the \
                appliance itself, straight from the state folder. --machine narrows which evidence is included, \
                never which records.
                """)
        @OptionGroup var admin: AdminOptions
        @Option(help: "Earliest record: a date (2026-11-22) or a UTC time (2026-11-22T05:00:00Z).") var from: String?
        @Option(help: "Latest record, inclusive (same forms).") var to: String?
        @Option(help: "Include only this machine's evidence.", completion: NameCompletion.machines.kind) var machine:
            String?
        @Option(help: "The bundle to write.") var out: String
        @Flag(help: "Read the state folder (--state-dir) directly instead of calling the server.") var local = false

        func run() async throws {
            let request = AuditExportRequest(
                from: try from.map { try AuditExportRequest.boundary($0, isEnd: false) },
                to: try to.map { try AuditExportRequest.boundary($0, isEnd: true) }, machine: machine)
            if local {
                let state = try StateFolder.existing(at: try admin.target.stateDir)
                let store = try EnrolmentStore(
                    location: WardenConfiguration.fromEnvironment().storeLocation(in: state),
                    key: state.keyEncryptionKey())
                let progress = TerminalProgress.start("exporting", counting: .records, format: admin.format)
                let summary = try AuditExporter.export(
                    from: store, key: state.auditKey(), request: request, to: out,
                    progress: progress?.records)
                progress?.end()
                try report(summary)
            } else {
                let progress = TerminalProgress.start("exporting", format: admin.format)
                // The server builds the bundle before it sends a byte: say so, not nothing.
                progress?.waiting(for: "the server is building the bundle")
                try await download(request, progress: progress?.transfer)
                progress?.end()
                try report(try BundleSummary.read(from: out))
            }
        }

        private func download(_ request: AuditExportRequest, progress: TransferProgress?) async throws {
            var query = URLComponents()
            query.queryItems = [("from", request.from), ("to", request.to), ("machine", request.machine)].compactMap {
                name, value in
                value.map { URLQueryItem(name: name, value: $0) }
            }
            let path =
                "/v1/admin/audit/export"
                + (query.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? "")
            try await admin.target.run { client in try await client.download(path, toFile: out, progress: progress) }
        }

        private func report(_ summary: BundleSummary) throws {
            if try admin.format.printed(summary) { return }
            print(
                """
                wrote \(out): records \(summary.firstSequence)–\(summary.lastSequence) (\(summary.records)), \
                \(summary.evidenceIncluded) of \(summary.attestations) attestations with evidence, \(summary.policies) policy versions, \
                \(summary.checkpoints) checkpoints
                head \(summary.headHash)
                audit key \(summary.keyFingerprint)
                """)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an export bundle offline: signature, files, hash chain, checkpoints, every verdict.",
            discussion: """
                Exits 0 only when everything holds and the bundle's key is the one pinned with --key (from \
                `warden audit key`); 1 when something fails; 3 when everything holds but nothing anchored the \
                key, unless --allow-unanchored. Names each record or file that fails.
                """)
        @Argument(help: "The bundle (.tar.gz).") var file: String
        @Option(help: "The audit public key (PEM) to trust; without it the bundle's own key anchors nothing.") var key:
            String?
        @Flag(help: "Exit 0 without --key when everything else holds (the bundle's own key is then trusted).")
        var allowUnanchored = false
        @Option(help: "An earlier export this one must extend.") var previous: String?
        @Flag(help: "Check evidence digests but do not verify quotes and policies again.") var noReverify = false
        @Option(name: [.customShort("o"), .long]) var format: OutputFormat = .text

        func run() async throws {
            let pinned = try key.map { path in
                try AuditPublicKey(
                    pem: String(decoding: try InputFile.read(path, as: "audit public key"), as: UTF8.self))
            }
            let report = try AuditVerifier.verify(bundle: file, key: pinned, previous: previous, reverify: !noReverify)
            if !(try format.printed(report)) { VerificationText.print(report) }
            if !report.holds { throw ExitStatus.rejected }
            if !report.anchored && !allowUnanchored {
                InputFile.printError(
                    "trust is not anchored: pass --key with the audit key from `warden audit key`, or --allow-unanchored"
                )
                throw ExitStatus.unanchored
            }
        }
    }
}
