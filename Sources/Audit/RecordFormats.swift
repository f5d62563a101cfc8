import BundleLines
import Store
import WardenCrypto

/// How records and checkpoints are written in a bundle: one JSON object per line
/// (`records.jsonl`, `checkpoints.jsonl`) and RFC 4180 CSV (`records.csv`). Digests are
/// lowercase hex. Since bundle format 3 every record carries `appliance` (null in records
/// written before appliances were named); bundles of formats 1 and 2 have no such field or column.
enum RecordFormats {
    /// The columns of `records.csv`: with the appliance or not (formats 1 and 2), and named
    /// as `records.jsonl` names its fields or, before format 4, with two in snake case.
    struct CSVColumns: Equatable {
        let namesAppliance: Bool
        let namedAsJSON: Bool
    }

    /// `records.csv`'s first line.
    static func csvHeader(_ columns: CSVColumns) -> String {
        let digests = columns.namedAsJSON ? "evidenceSHA256,previousHash" : "evidence_sha256,previous_hash"
        return
            "sequence,time,\(columns.namesAppliance ? "appliance," : "")actor,action,subject,details,\(digests),hash\r\n"
    }

    /// Appends a record as one line of `records.jsonl` (with its line break).
    static func appendJSONLine(_ record: AuditRecord, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"sequence":"#.utf8)
        out.append(contentsOf: String(record.sequence).utf8)
        out.append(contentsOf: #","time":"#.utf8)
        FlatJSON.appendString(record.time, to: &out)
        out.append(contentsOf: #","appliance":"#.utf8)
        if let appliance = record.appliance {
            FlatJSON.appendString(appliance, to: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        for (key, value) in [
            ("actor", record.actor), ("action", record.action), ("subject", record.subject),
            ("details", record.details),
        ] {
            out.append(contentsOf: #",""#.utf8)
            out.append(contentsOf: key.utf8)
            out.append(contentsOf: #"":"#.utf8)
            FlatJSON.appendString(value, to: &out)
        }
        out.append(contentsOf: #","evidenceSHA256":"#.utf8)
        if let digest = record.evidenceSHA256 {
            appendQuotedHex(digest, to: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: #","previousHash":"#.utf8)
        appendQuotedHex(record.previousHash, to: &out)
        out.append(contentsOf: #","hash":"#.utf8)
        appendQuotedHex(record.hash, to: &out)
        out.append(contentsOf: "}\n".utf8)
    }

    /// A record as one line of `records.jsonl` (with its line break).
    static func jsonLine(_ record: AuditRecord) -> String {
        var out: [UInt8] = []
        appendJSONLine(record, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends a record as one row of `records.csv` (with its CRLF), with the appliance
    /// column (empty when the record names none) or, for formats 1 and 2, without.
    static func appendCSVLine(_ record: AuditRecord, namingAppliance: Bool, to out: inout [UInt8]) {
        out.append(contentsOf: String(record.sequence).utf8)
        out.append(UInt8(ascii: ","))
        appendCSVField(record.time, to: &out)
        if namingAppliance {
            out.append(UInt8(ascii: ","))
            appendCSVField(record.appliance ?? "", to: &out)
        }
        for field in [record.actor, record.action, record.subject, record.details] {
            out.append(UInt8(ascii: ","))
            appendCSVField(field, to: &out)
        }
        out.append(UInt8(ascii: ","))
        if let digest = record.evidenceSHA256 { Hex.append(digest, to: &out) }
        out.append(UInt8(ascii: ","))
        Hex.append(record.previousHash, to: &out)
        out.append(UInt8(ascii: ","))
        Hex.append(record.hash, to: &out)
        out.append(contentsOf: [0x0d, 0x0a])
    }

    /// A record as one row of `records.csv` (with its CRLF).
    static func csvLine(_ record: AuditRecord, namingAppliance: Bool = true) -> String {
        var out: [UInt8] = []
        appendCSVLine(record, namingAppliance: namingAppliance, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendCSVField(_ field: String, to out: inout [UInt8]) {
        let special: (UInt8) -> Bool = {
            $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0a || $0 == 0x0d
        }
        guard field.utf8.contains(where: special) else {
            out.append(contentsOf: field.utf8)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in field.utf8 {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendQuotedHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        Hex.append(bytes, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// A record read back from one line of `records.jsonl` (without its line break): with a
    /// non-empty `appliance` or null when the bundle's format names appliances (10 fields),
    /// without one when it does not (9 fields, formats 1 and 2).
    static func record(jsonLine line: ArraySlice<UInt8>, namingAppliance: Bool) throws(FormatError) -> AuditRecord {
        let fields = try object(line)
        let expected = namingAppliance ? 10 : 9
        guard fields.count == expected, (fields["appliance"] != nil) == namingAppliance else {
            throw FormatError(
                "a record of this bundle's format has \(expected) fields\(namingAppliance ? " with" : ", without") appliance"
            )
        }
        let appliance = try fields.optionalString("appliance")
        guard appliance != "" else { throw FormatError("field appliance is empty") }
        return AuditRecord(
            sequence: try fields.integer("sequence"), time: try fields.string("time"),
            appliance: appliance, actor: try fields.string("actor"),
            action: try fields.string("action"), subject: try fields.string("subject"),
            details: try fields.string("details"),
            evidenceSHA256: try fields.optionalDigest("evidenceSHA256"),
            previousHash: try fields.digest("previousHash"),
            hash: try fields.digest("hash"))
    }

    /// A checkpoint as one line of `checkpoints.jsonl`.
    static func jsonLine(_ checkpoint: AuditCheckpoint) -> String {
        var out: [UInt8] = []
        FlatJSON.append(
            [
                "sequence": .integer(checkpoint.sequence), "hash": .string(Hex.encode(checkpoint.hash)),
                "signedAt": .string(checkpoint.signedAt), "signature": .string(Hex.encode(checkpoint.signature)),
            ], to: &out)
        return String(decoding: out, as: UTF8.self) + "\n"
    }

    /// A checkpoint read back from one line of `checkpoints.jsonl`.
    static func checkpoint(jsonLine line: ArraySlice<UInt8>) throws(FormatError) -> AuditCheckpoint {
        let fields = try object(line)
        guard fields.count == 4 else { throw FormatError("a checkpoint has 4 fields, not \(fields.count)") }
        guard case .string(let signature) = fields["signature"], let signatureBytes = Hex.decode(signature) else {
            throw FormatError("field signature is missing or not hex")
        }
        return AuditCheckpoint(
            sequence: try fields.integer("sequence"), hash: try fields.digest("hash"),
            signedAt: try fields.string("signedAt"), signature: signatureBytes)
    }

    private static func object(_ line: ArraySlice<UInt8>) throws(FormatError) -> FlatJSON.Object {
        do { return try FlatJSON.decode(line) } catch { throw FormatError(error.description) }
    }

    /// Why a line is not a record or a checkpoint.
    struct FormatError: Error, Equatable, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

private extension FlatJSON.Object {
    func string(_ key: String) throws(RecordFormats.FormatError) -> String {
        guard case .string(let value) = self[key] else { throw .init("field \(key) is missing or not a string") }
        return value
    }

    func optionalString(_ key: String) throws(RecordFormats.FormatError) -> String? {
        switch self[key] {
        case nil, .null: nil
        case .string(let value): value
        default: throw .init("field \(key) is not a string or null")
        }
    }

    func integer(_ key: String) throws(RecordFormats.FormatError) -> Int64 {
        guard case .integer(let value) = self[key] else { throw .init("field \(key) is missing or not an integer") }
        return value
    }

    func digest(_ key: String) throws(RecordFormats.FormatError) -> [UInt8] {
        guard let digest = Hex.decode(try string(key)), digest.count == 32 else {
            throw .init("field \(key) is not a SHA-256 digest")
        }
        return digest
    }

    func optionalDigest(_ key: String) throws(RecordFormats.FormatError) -> [UInt8]? {
        if case .null = self[key] { return nil }
        return try digest(key)
    }
}
