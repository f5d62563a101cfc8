import Foundation
import Testing
import TestSupport
import Yams

/// Every command takes `-o/--format text|json|yaml`; JSON and YAML carry the same fields,
/// absent ones as null, with one name per field across commands.
@Suite struct OutputFormatTests {
    /// What a command printed with `-o json`.
    private func json(_ rig: SystemRig, _ arguments: [String]) throws -> Any {
        let printed = try rig.server.cli(arguments + ["-o", "json"])
        try rig.expectSuccess(printed)
        return try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8), options: .fragmentsAllowed)
    }

    /// What a command that changes nothing printed as JSON, after checking that its
    /// `--format yaml` says the same.
    private func both(_ rig: SystemRig, _ arguments: [String]) throws -> Any {
        let fromJSON = try json(rig, arguments)
        let yaml = try rig.server.cli(arguments + ["--format", "yaml"])
        try rig.expectSuccess(yaml)
        let fromYAML = try #require(try Yams.load(yaml: yaml.stdout))
        #expect(Self.normalized(fromJSON) == Self.normalized(fromYAML), "\(arguments): \(yaml.stdout)")
        return fromJSON
    }

    /// A value as text with sorted keys and one spelling of null, to compare JSON's and YAML's readings.
    private static func normalized(_ value: Any) -> String {
        switch value {
        case let object as [String: Any]:
            "{" + object.sorted { $0.key < $1.key }.map { "\($0.key)=\(normalized($0.value))" }.joined(separator: ",")
                + "}"
        case let array as [Any]: "[" + array.map(normalized).joined(separator: ",") + "]"
        case is NSNull: "null"
        // JSONSerialization reads true as a number, Yams as a Bool: both print as one NSNumber.
        case let number as NSNumber: number.description
        default: "\(value)"
        }
    }

    @Test func actionsAndReadsPrintJSONAndYAMLWithNulls() throws {
        let rig = try SystemRig()
        let tpm = try SoftwareTPM()
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"])
        let ek = tpm.folder.appendingPathComponent("ek.pub").path
        let enrolled = try #require(try json(rig, ["machine", "enroll", "node-1", "--ek", ek]) as? [String: Any])
        #expect(
            enrolled["cluster"] is NSNull && enrolled["image"] is NSNull && enrolled["policy"] is NSNull, "\(enrolled)")
        let shown = try #require(try both(rig, ["machine", "show", "node-1"]) as? [String: Any])
        #expect(shown["policy"] is NSNull, "no policy yet, said as null: \(shown)")

        try rig.write("name: rack\n", to: "rack.yaml")
        let applied = try #require(try json(rig, ["policy", "apply", rig.file("rack.yaml").path]) as? [String: Any])
        #expect(applied["outcome"] as? String == "stored" && applied["previous"] is NSNull)
        let set = try #require(try both(rig, ["machine", "set-image", "node-1", "none"]) as? [String: Any])
        #expect(set["name"] as? String == "node-1" && set["image"] is NSNull)
        let whoami = try #require(try both(rig, ["whoami"]) as? [String: Any])
        #expect(whoami["name"] as? String == "operator" && whoami["role"] as? String == "operator")
        let clusters = try #require(try both(rig, ["cluster", "list"]) as? [[String: Any]])
        #expect(clusters.first?["k3sServer"] as? String == "https://10.0.0.1:6443")
        _ = try both(rig, ["version"])

        let revoked = try #require(try json(rig, ["machine", "revoke", "node-1"]) as? [String: Any])
        #expect((revoked["message"] as? String)?.contains("node-1") == true)
        let added = try #require(
            try json(rig, ["operator", "add", "alice", "--role", "auditor", "--out", rig.file("alice").path])
                as? [String: Any])
        #expect(added["folder"] as? String == rig.file("alice").path && added["key"] == nil, "no key printed")
    }
}
