import Foundation

/// The tables a store copy carries, parents before children, and the column each is ordered by.
private let copiedTables: [(name: String, order: String)] = [
    ("policy", "id"), ("cluster", "id"), ("image", "id"), ("imagePart", "sha256, part"), ("machine", "id"),
    ("machineMAC", "mac"),
    ("attestationKey", "id"), ("eventLog", "sha256"), ("attestation", "id"), ("sealedSecret", "id"),
    ("operatorCertificate", "serial"),
    ("machineNonce", "machineID, value"), ("auditRecord", "sequence"), ("auditCheckpoint", "sequence"),
    ("appliance", "name"), ("applianceJoin", "issuedAt, id"),
]

extension EnrolmentStore {
    /// Copies every row of this store into `target`, a store that holds none yet, in one
    /// transaction of the target's: all of it or nothing. Values are carried as they are
    /// stored (secrets stay sealed under the same key-encryption key; audit records keep
    /// their times and hashes, so the chain verifies as before). Returns the rows copied per table.
    public func copy(into target: EnrolmentStore) throws(StoreError) -> [(table: String, rows: Int)] {
        guard target.isShared else { throw .invalid("a store is copied into PostgreSQL") }
        // The source is read inside the target's write, on the thread that runs it: a
        // transaction of GRDB's is used only on the thread that began it.
        return try target.write { destination in
            try self.read { source in
                // SQLite never gives an id again (AUTOINCREMENT): neither may the copy.
                let lastIDs = try SQLRow.fetchAll(source, sql: "SELECT name, seq FROM sqlite_sequence").map {
                    (($0["name"] as String).lowercased(), $0["seq"] as Int64)
                }
                let occupied = try copiedTables.filter { table in
                    try Bool.fetchOne(destination, sql: "SELECT EXISTS (SELECT 1 FROM \(table.name))") == true
                }.map(\.name)
                guard occupied.isEmpty else {
                    throw StoreError.invalid(
                        "the target already holds rows (\(occupied.joined(separator: ", "))): it must be empty")
                }
                var copied: [(table: String, rows: Int)] = []
                for table in copiedTables {
                    let types = try destination.postgresColumnTypes(of: table.name)
                    var rows = 0
                    try source.forEachRow(sql: "SELECT * FROM \(table.name) ORDER BY \(table.order)") { row in
                        let columns = row.columns.names
                        try destination.execute(
                            sql: "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) VALUES ("
                                + columns.map { _ in "?" }.joined(separator: ", ") + ")",
                            arguments: SQLArguments(
                                zip(columns, row.values).map { column, value in
                                    value.stored(as: types[column.lowercased()] ?? "")
                                }))
                        rows += 1
                    }
                    copied.append((table.name, rows))
                }
                try destination.continueIdentities(
                    of: copiedTables.filter { $0.order == "id" }.map(\.name),
                    after: Dictionary(uniqueKeysWithValues: lastIDs))
                return copied
            }
        }
    }
}

extension SQLTransaction {
    /// PostgreSQL's type of each column of `table`, by lower-case name.
    fileprivate func postgresColumnTypes(of table: String) throws -> [String: String] {
        var types: [String: String] = [:]
        try forEachRow(
            sql:
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()",
            arguments: [table.lowercased()]
        ) { row in types[row["column_name"]] = row["data_type"] }
        return types
    }

    /// Moves the identity sequence of each of `tables` past the ids copied into it and past
    /// the last id SQLite gave (`lastIDs`, by lower-case table name: rows since deleted keep
    /// their ids to themselves), so that the next row gets a new one.
    fileprivate func continueIdentities(of tables: [String], after lastIDs: [String: Int64]) throws {
        for table in tables {
            try execute(
                sql: """
                    SELECT setval(pg_get_serial_sequence(?, 'id'), GREATEST(COALESCE(MAX(id), 0), ?)) FROM \(table)
                    HAVING GREATEST(COALESCE(MAX(id), 0), ?) > 0
                    """,
                arguments: [table.lowercased(), lastIDs[table.lowercased()] ?? 0, lastIDs[table.lowercased()] ?? 0])
        }
    }
}

extension SQLValue {
    /// The value as a PostgreSQL column of type `type` takes it: SQLite keeps times as text
    /// and booleans as integers.
    fileprivate func stored(as type: String) -> SQLValue {
        switch (self, type) {
        case (.text(let text), "timestamp with time zone"): SQLTimestamp.date(text).map(SQLValue.timestamp) ?? self
        case (.integer(let seconds), "timestamp with time zone"):
            .timestamp(Date(timeIntervalSince1970: Double(seconds)))
        case (.integer(let flag), "boolean"): .boolean(flag != 0)
        default: self
        }
    }
}
