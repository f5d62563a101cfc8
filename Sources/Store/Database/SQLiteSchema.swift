import Attestation
import Foundation
import GRDB

/// The SQLite database's named migrations. Every change of schema is a new migration;
/// applied ones never change.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-machines-policies-nonces-secrets") { db in
            try db.create(table: "policy") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("yaml", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.uniqueKey(["name", "version"])
            }
            try db.create(table: "machine") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("state", .text).notNull().check(
                    sql: "state IN ('discovered', 'enrolled', 'active', 'revoked')")
                t.column("ekPublic", .blob).notNull()
                t.column("ekName", .blob).unique()
                t.column("ekCertificate", .blob)
                t.column("smbiosUUID", .text)
                t.column("policyName", .text)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "machineMAC") { t in
                t.column("mac", .text).primaryKey()
                t.column("machineID", .integer).notNull().references("machine", onDelete: .cascade)
            }
            try db.create(table: "attestationKey") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("machineID", .integer).notNull().references("machine", onDelete: .cascade)
                t.column("public", .blob).notNull()
                t.column("name", .blob).notNull().unique()
                t.column("challengeDigest", .blob).notNull()
                t.column("activatedAt", .datetime)
            }
            try db.create(table: "attestation") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("machineID", .integer).notNull().references("machine", onDelete: .cascade)
                t.column("attestationKeyID", .integer).notNull().references("attestationKey")
                t.column("nonce", .blob).notNull()
                t.column("attest", .blob).notNull()
                t.column("signature", .blob).notNull()
                t.column("pcrs", .blob).notNull()
                t.column("eventLog", .blob)
                t.column("passed", .boolean).notNull()
                t.column("reasons", .text).notNull()
                t.column("policyID", .integer).references("policy")
                t.column("resetCount", .integer)
                t.column("restartCount", .integer)
                t.column("clock", .integer)
                t.column("safe", .boolean)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .datetime).notNull()
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("details", .text).notNull()
            }
            try db.create(table: "nonce") { t in
                t.column("value", .blob).primaryKey()
                t.column("machineID", .integer).notNull().references("machine", onDelete: .cascade)
                t.column("expiresAt", .datetime).notNull()
                t.column("usedAt", .datetime)
            }
            try db.create(table: "sealedSecret") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("identity", .text).notNull().unique()
                t.column("machineID", .integer).references("machine", onDelete: .cascade)
                t.column("sealed", .blob).notNull()
            }
        }
        migrator.registerMigration("v2-clusters-roles-operators") { db in
            try db.create(table: "cluster") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("serverURL", .text).notNull()
                t.column("hasAgentToken", .boolean).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.alter(table: "machine") { t in
                t.add(column: "clusterID", .integer).references("cluster")
                t.add(column: "role", .text).check(sql: "role IS NULL OR role IN ('server', 'agent')")
                t.add(column: "labels", .text).notNull().defaults(to: "")
            }
            try db.create(table: "operatorCertificate") { t in
                t.column("serial", .text).primaryKey()
                t.column("name", .text).notNull()
                t.column("role", .text).notNull().check(sql: "role IN ('operator', 'auditor')")
                t.column("issuedAt", .datetime).notNull()
                t.column("revokedAt", .datetime)
            }
            try db.create(index: "attestationByMachine", on: "attestation", columns: ["machineID", "id"])
            try db.create(index: "nonceByExpiry", on: "nonce", columns: ["expiresAt"])
        }
        migrator.registerMigration("v3-nonces-by-machine") { db in
            // Counting a machine's pending nonces must not scan every nonce of the last minute.
            try db.create(index: "nonceByMachine", on: "nonce", columns: ["machineID", "usedAt"])
        }
        migrator.registerMigration("v4-nonces-clustered-by-machine") { db in
            // Nonces are random: keyed by value, every issue and every use dirtied a random
            // page of two B-trees. Clustered by machine, a machine's nonces share a page, and
            // its pending count needs no index of its own.
            try db.execute(
                sql: """
                    CREATE TABLE machineNonce (
                        machineID INTEGER NOT NULL REFERENCES machine(id) ON DELETE CASCADE,
                        value BLOB NOT NULL,
                        expiresAt DATETIME NOT NULL,
                        usedAt DATETIME,
                        PRIMARY KEY (machineID, value)
                    ) WITHOUT ROWID
                    """)
            try db.execute(sql: "INSERT INTO machineNonce SELECT machineID, value, expiresAt, usedAt FROM nonce")
            try db.drop(table: "nonce")
        }
        migrator.registerMigration("v5-agent-token-by-its-secret") { db in
            // Whether a cluster has an agent token is whether that sealed secret exists.
            try db.alter(table: "cluster") { t in t.drop(column: "hasAgentToken") }
        }
        migrator.registerMigration("v6-audit-chain") { db in
            try db.execute(
                sql: """
                    CREATE TABLE auditRecord (
                        sequence INTEGER PRIMARY KEY,
                        time TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        details TEXT NOT NULL,
                        evidenceSHA256 BLOB,
                        previousHash BLOB NOT NULL,
                        hash BLOB NOT NULL UNIQUE
                    );
                    CREATE TABLE auditCheckpoint (
                        sequence INTEGER PRIMARY KEY REFERENCES auditRecord(sequence),
                        hash BLOB NOT NULL,
                        signedAt TEXT NOT NULL,
                        signature BLOB NOT NULL
                    );
                    """)
            // Records kept before the chain existed enter it in their order, unchanged.
            let earlier = try Row.fetchCursor(
                db, sql: "SELECT time, actor, action, subject, details FROM audit ORDER BY id")
            let chain = SQLiteSession.transaction(db)
            while let row = try earlier.next() {
                try chain.appendAudit(
                    actor: row["actor"], action: row["action"], subject: row["subject"], details: row["details"],
                    now: row["time"])
            }
            try db.drop(table: "audit")
            // Append-only, whatever the code above the database does.
            for table in ["auditRecord", "auditCheckpoint"] {
                for operation in ["UPDATE", "DELETE"] {
                    try db.execute(
                        sql: """
                            CREATE TRIGGER \(table)AppendOnly\(operation.capitalized) BEFORE \(operation) ON \(table)
                            BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END
                            """)
                }
            }
        }
        migrator.registerMigration("v7-images") { db in
            try db.create(table: "image") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("sha256", .blob).notNull()
                t.column("sha384", .blob).notNull()
                t.column("authenticodeSHA256", .blob).notNull()
                t.column("linuxSHA256", .blob).notNull()
                t.column("initrdSHA256", .blob).notNull()
                t.column("commandLine", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.alter(table: "machine") { t in t.add(column: "imageID", .integer).references("image") }
        }
        migrator.registerMigration("v8-measured-images-and-boots") { db in
            try db.alter(table: "image") { t in
                t.add(column: "kernelAuthenticodeSHA256", .blob)
                t.add(column: "sectionMeasurements", .text)
            }
            // Legacy BIOS boots served and not yet seen attesting; then the TPM reset count
            // of the boot they were (see EnrolmentStore.recordLegacyBoot).
            try db.alter(table: "machine") { t in
                t.add(column: "legacyBootsPending", .integer).notNull().defaults(to: 0)
                t.add(column: "legacyBootResetCount", .integer)
            }
            // What the server compared the evidence with, kept with it for auditors.
            try db.alter(table: "attestation") { t in t.add(column: "bootReference", .blob) }
        }
        migrator.registerMigration("v9-bounded-anonymous-rows") { db in
            // A registration is a sealed ticket the agent hands back, no longer a row: the
            // pending ones of an earlier Warden are dropped (their agents register again).
            try db.execute(sql: "DELETE FROM attestationKey WHERE activatedAt IS NULL")
            // A legacy boot is marked by the machine's own attestation, bound to its TPM's
            // reset count, no longer counted from script requests anyone can send.
            try db.alter(table: "machine") { t in t.drop(column: "legacyBootsPending") }
            // Discovered machines expire: found by state and age.
            try db.create(index: "machineByStateAndAge", on: "machine", columns: ["state", "createdAt"])
        }
        migrator.registerMigration("v10-machine-states-from-the-lifecycle") { db in
            try constrainMachineStates(db, to: MachineLifecycle.storedStatesSQL)
        }
        migrator.registerMigration("v11-evidence-and-judgement") { db in
            // The whole evidence, with the legacy BIOS mark the agent sent, and what the
            // judgement was given, so that an auditor judges it again to the same verdict.
            try db.alter(table: "attestation") { t in
                t.add(column: "legacyBIOS", .boolean).notNull().defaults(to: false)
                t.add(column: "judgement", .blob)
            }
        }
        migrator.registerMigration("v12-audit-records-name-their-appliance") { db in
            // Several appliances write one chain; records before this name none (see AuditChain).
            try db.alter(table: "auditRecord") { t in t.add(column: "appliance", .text) }
        }
        migrator.registerMigration("v13-image-bytes-in-the-database") { db in
            // Each image's bytes, in parts: the image folder is a cache every appliance fills
            // from here (ImageContent.swift). Images added before are stored at the next start.
            try db.create(table: "imagePart") { t in
                t.column("sha256", .blob).notNull()
                t.column("part", .integer).notNull()
                t.column("bytes", .blob).notNull()
                t.uniqueKey(["sha256", "part"])
            }
        }
        migrator.registerMigration("v14-appliances") { db in
            // The appliances sharing the database, and the join bundles issued to add one.
            try db.create(table: "appliance") { t in
                t.primaryKey("name", .text)
                t.column("state", .text).notNull().check(sql: "state IN ('active', 'removed')")
                t.column("serverCertificateSHA256", .blob).notNull()
                t.column("databaseRole", .text)
                t.column("joinedAt", .datetime).notNull()
                t.column("removedAt", .datetime)
            }
            try db.create(table: "applianceJoin") { t in
                t.primaryKey("id", .blob)
                t.column("issuedBy", .text).notNull()
                t.column("issuedAt", .datetime).notNull()
                t.column("expiresAt", .datetime).notNull()
                t.column("usedBy", .text)
                t.column("usedAt", .datetime)
            }
        }
        migrator.registerMigration("v15-image-parts-dated") { db in
            // When each part was stored (those stored before: now): parts no image claims a
            // day later are of an upload that never finished, and are swept (Expiry.swift).
            // A constant default, not an UPDATE: no stored part is rewritten.
            try db.alter(table: "imagePart") { t in
                t.add(column: "storedAt", .datetime).notNull().defaults(to: SQLTimestamp.text(Date()))
            }
            try db.create(index: "imagePartByTime", on: "imagePart", columns: ["storedAt"])
        }
        migrator.registerMigration("v16-event-logs-by-digest") { db in
            // A machine sends the same event log boot after boot: each is kept once, and an
            // attestation names it by SHA-256. Attestations before keep theirs in their row.
            try db.create(table: "eventLog") { t in
                t.column("sha256", .blob).notNull().unique()
                t.column("bytes", .blob).notNull()
            }
            try db.alter(table: "attestation") { t in
                t.add(column: "eventLogSHA256", .blob).references("eventLog", column: "sha256")
            }
        }
        migrator.registerMigration("v17-images-signed-for-secure-boot") { db in
            // An image's file as signed with the rack's Secure Boot db key: its own SHA-256,
            // Authenticode digest and size; machines are served it instead.
            try db.alter(table: "image") { t in
                t.add(column: "signedSHA256", .blob)
                t.add(column: "signedAuthenticodeSHA256", .blob)
                t.add(column: "signedSize", .integer)
            }
        }
        migrator.registerMigration("v18-secure-boot-enrolment") { db in
            // When Warden enrolled the rack's Secure Boot keys in a machine's firmware.
            try db.alter(table: "machine") { t in t.add(column: "secureBootEnrolledAt", .datetime) }
        }
        migrator.registerMigration("v19-audit-hashes-unindexed") { db in
            // A record's hash covers its sequence, so no two are equal, and nothing looks a
            // record up by it: the unique index on these random values only made every record
            // dirty a random page of its own in every commit. The records are copied once, in
            // this migration's transaction: a long chain makes this one start slower.
            try rebuild("auditRecord", db, replacing: "hash BLOB NOT NULL UNIQUE", with: "hash BLOB NOT NULL")
        }
        migrator.registerMigration("v20-nonce-uses-in-time-order") { db in
            // A nonce is made now, not stored at issue, and its bytes begin with the time it
            // was issued: keyed by value alone, uses are appended in time order to one page,
            // where clustered by machine each use dirtied a page of its machine's. Deleting a
            // machine now reads the whole table for its uses: a few minutes' worth, once.
            try rebuild("machineNonce", db, replacing: "PRIMARY KEY (machineID, value)", with: "PRIMARY KEY (value)")
        }
        return migrator
    }

    /// Rebuilds the machine table with `check` as the constraint on `state`.
    private static func constrainMachineStates(_ db: Database, to check: String) throws {
        try rebuild(
            "machine", db, replacing: #"CHECK \(state IN \([^)]*\)\)"#, with: "CHECK (\(check))",
            options: .regularExpression)
    }

    /// Rebuilds `table` with `replacement` for what `pattern` finds in its definition (SQLite
    /// cannot alter a constraint or a primary key): rows, indexes, triggers and the id
    /// sequence are kept, so an id a deleted row had is never given again. A definition in
    /// which `pattern` finds nothing is not one the migration knows. Foreign keys are off
    /// while a migration runs, and checked before it commits.
    private static func rebuild(
        _ table: String, _ db: Database, replacing pattern: String, with replacement: String,
        options: String.CompareOptions = []
    ) throws {
        let unknown = StoreError.database("the \(table) table's definition is not one this migration knows")
        guard
            let definition = try String.fetchOne(
                db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]),
            let found = definition.range(of: pattern, options: options),
            case var rebuilt = definition.replacingCharacters(in: found, with: replacement),
            let head = rebuilt.range(of: #"^CREATE TABLE "?\#(table)"?"#, options: .regularExpression)
        else { throw unknown }
        rebuilt.replaceSubrange(head, with: #"CREATE TABLE "\#(table)Rebuilt""#)
        let indexes = try String.fetchAll(
            db,
            sql:
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL",
            arguments: [table])
        let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table])
        try db.execute(sql: rebuilt)
        try db.execute(sql: "INSERT INTO \(table)Rebuilt SELECT * FROM \(table)")
        try db.execute(sql: "DROP TABLE \(table)")
        try db.execute(sql: "ALTER TABLE \(table)Rebuilt RENAME TO \(table)")
        for index in indexes { try db.execute(sql: index) }
        if let sequence {
            try db.execute(
                sql: "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", arguments: [sequence, table])
        }
    }
}
