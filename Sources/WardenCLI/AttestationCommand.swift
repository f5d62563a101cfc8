import ArgumentParser
import Foundation
import TPM
import WardenAPI

/// `warden attestation …`: what was judged, across machines.
package struct AttestationCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "attestation", abstract: "List and show attestations: verdicts, reasons, policies, boots.",
        subcommands: [List.self, Show.self])

    package init() {}

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List attestations, newest first.")
        @OptionGroup var admin: AdminOptions
        @Option(help: "Only this machine's.", completion: NameCompletion.machines.kind) var machine: String?
        @Option(help: "Only passed or refused ones.") var verdict: Verdict?
        @Option(help: "Recorded at or after: a date (2026-11-22) or a UTC time (2026-11-22T05:00:00Z).") var since:
            String?
        @Option(help: "Recorded at or before (same forms).") var until: String?
        @Option(help: "At most this many (1 to 1,000).") var limit = 50

        enum Verdict: String, ExpressibleByArgument, CaseIterable {
            case passed, refused
        }

        func run() async throws {
            var query = URLComponents()
            query.queryItems = [
                ("machine", machine), ("verdict", verdict?.rawValue), ("since", since), ("until", until),
                ("limit", String(limit)),
            ].compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
            let path =
                "/v1/admin/attestations?"
                + (query.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            let attestations = try await admin.call(.GET, path, as: [AttestationSummary].self)
            if try admin.format.printed(attestations) { return }
            AttestationTable.print(attestations, withMachine: true)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one attestation: its verdict, reasons, policy version and boot timeline.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The attestation's ID (from `attestation list` or `machine show`).") var id: Int64

        func run() async throws {
            let detail = try await admin.call(.GET, "/v1/admin/attestations/\(id)", as: AttestationDetail.self)
            if try admin.format.printed(detail) { return }
            let attestation = detail.attestation
            print(
                """
                attestation: \(attestation.id)
                machine:     \(attestation.machine)
                time:        \(ISO8601DateFormatter().string(from: attestation.createdAt))
                verdict:     \(AttestationTable.verdict(attestation))
                policy:      \(attestation.policy ?? "-")
                """)
            if !attestation.reasons.isEmpty {
                print("reasons:")
                for reason in attestation.reasons { print("  - \(reason)") }
            }
            print(Self.timeline(detail.eventLog))
        }

        /// The boot as the event log tells it, one event a line.
        private static func timeline(_ eventLog: String?) -> String {
            guard let encoded = eventLog, let bytes = Data(base64Encoded: encoded) else {
                return "boot timeline: none (the agent sent no event log)"
            }
            guard let log = try? EventLog.parse([UInt8](bytes)) else {
                return "boot timeline: the event log the agent sent does not parse"
            }
            let events = log.events.map { event in
                let fields = EventDescription(event).fields.map { "\($0.name)=\($0.value)" }
                return "  #\(event.index) PCR \(event.pcr) \(event.type)"
                    + (fields.isEmpty ? "" : "  " + fields.joined(separator: " "))
            }
            return (["boot timeline (\(log.events.count) events, as the event log the agent sent tells it):"] + events)
                .joined(separator: "\n")
        }
    }
}

/// Attestations as a table, as `attestation list` and `machine show` print them.
enum AttestationTable {
    static func print(_ attestations: [AttestationSummary], withMachine: Bool) {
        Table.print(
            ["ID", "TIME"] + (withMachine ? ["MACHINE"] : []) + ["VERDICT", "POLICY", "REASONS"],
            attestations.map {
                [String($0.id), ISO8601DateFormatter().string(from: $0.createdAt)] + (withMachine ? [$0.machine] : [])
                    + [verdict($0), $0.policy ?? "-", $0.reasons.joined(separator: "; ")]
            })
    }

    static func verdict(_ attestation: AttestationSummary) -> String {
        (attestation.passed ? "passed" : "refused") + (attestation.unmeasured == nil ? "" : " (unmeasured)")
    }
}
