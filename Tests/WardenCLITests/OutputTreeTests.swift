import Foundation
import Testing

@testable import WardenCLI

/// The CLI's JSON and YAML printer: every field present, nested values whole, keys that
/// read back as themselves.
@Suite struct OutputTreeTests {
    enum Standing: Codable {
        case firstUse
        case version(id: Int64, name: String)
    }

    struct Report: Codable {
        var locality: UInt8?
        var count: Int32?
        var standing: Standing
        var byPCR: [String: String]
        var flags: [String: Bool]
    }

    @Test func absentFieldsAreNullAndNestedValuesWhole() throws {
        let report = Report(
            locality: nil, count: 3, standing: .version(id: 7, name: "rack"), byPCR: ["0": "ab", "7": "cd"],
            flags: ["null": true])
        let tree = try OutputTree.of(report)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(tree.json().utf8)) as? [String: Any])
        #expect(json["locality"] is NSNull && json["count"] as? Int == 3)
        let standing = try #require((json["standing"] as? [String: Any])?["version"] as? [String: Any])
        #expect(standing["id"] as? Int == 7 && standing["name"] as? String == "rack")

        let yaml = tree.yaml()
        #expect(yaml.contains("\"0\": \"ab\"") && yaml.contains("\"7\": \"cd\""), "\(yaml)")
        #expect(yaml.contains("\"null\": true") && yaml.contains("locality: null"), "\(yaml)")
    }
}
