import Attestation
import Foundation
import WardenAPI
import WardenCrypto

extension ImageRecord {
    /// The image an `image` row holds, assigned to `machines`.
    fileprivate init(_ row: SQLRow, machines: [String]) {
        self.init(
            name: row["name"], sha256: [UInt8](row["sha256"] as Data), sha384: [UInt8](row["sha384"] as Data),
            authenticodeSHA256: [UInt8](row["authenticodeSHA256"] as Data),
            linuxSHA256: [UInt8](row["linuxSHA256"] as Data),
            initrdSHA256: [UInt8](row["initrdSHA256"] as Data), commandLine: row["commandLine"], size: row["size"],
            kernelAuthenticodeSHA256: (row["kernelAuthenticodeSHA256"] as Data?).map { [UInt8]($0) },
            sectionMeasurements: (row["sectionMeasurements"] as String?).flatMap {
                try? JSONDecoder().decode([BootMeasurement].self, from: Data($0.utf8))
            },
            createdAt: row["createdAt"], machines: machines,
            secureBootSigned: Self.signed(row))
    }

    /// The signed file a row names, when it names all of it.
    private static func signed(_ row: SQLRow) -> SignedImage? {
        guard let digest = row["signedSHA256"] as Data?, let authenticode = row["signedAuthenticodeSHA256"] as Data?,
            let size = row["signedSize"] as Int?
        else { return nil }
        return SignedImage(sha256: [UInt8](digest), authenticodeSHA256: [UInt8](authenticode), size: size)
    }
}

extension EnrolmentStore {
    /// Adds `image` to the catalogue, audited; its bytes are stored already
    /// (``storeImageContent(sha256:bytes:now:)``), or it is refused.
    public func addImage(_ image: ImageRecord, actor: String, now: Date = Date()) throws(StoreError) {
        try write { db in
            guard try Int64.fetchOne(db, sql: "SELECT id FROM image WHERE name = ?", arguments: [image.name]) == nil
            else {
                throw StoreError.duplicate("image \(image.name)")
            }
            let bytes = { (hex: String) in Data(Hex.decode(hex) ?? []) }
            guard try db.hasImageContent(sha256: [UInt8](bytes(image.sha256)), size: image.size) else {
                throw StoreError.invalid("image \(image.name): its \(image.size) bytes are not all in the database")
            }
            let signed = image.secureBootSigned
            if let signed {
                guard try db.hasImageContent(sha256: [UInt8](bytes(signed.sha256)), size: signed.size) else {
                    throw StoreError.invalid("image \(image.name): its signed bytes are not all in the database")
                }
            }
            try db.execute(
                sql: """
                    INSERT INTO image (name, sha256, sha384, authenticodeSHA256, linuxSHA256, initrdSHA256, commandLine, size,
                        kernelAuthenticodeSHA256, sectionMeasurements, createdAt, signedSHA256, signedAuthenticodeSHA256, signedSize)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    image.name, bytes(image.sha256), bytes(image.sha384), bytes(image.authenticodeSHA256),
                    bytes(image.linuxSHA256),
                    bytes(image.initrdSHA256), image.commandLine, image.size, image.kernelAuthenticodeSHA256.map(bytes),
                    try image.sectionMeasurements.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) },
                    now, signed.map { bytes($0.sha256) }, signed.map { bytes($0.authenticodeSHA256) }, signed?.size,
                ])
            try db.appendAudit(
                actor: actor, action: "image-added", subject: "image/\(image.name)",
                details:
                    "UKI sha256 \(image.sha256), Authenticode sha256 \(image.authenticodeSHA256), command line \"\(image.commandLine)\""
                    + (signed.map {
                        ", signed for Secure Boot: sha256 \($0.sha256), Authenticode sha256 \($0.authenticodeSHA256)"
                    }
                        ?? ""),
                now: now)
        }
    }

    /// Records what booting image `name` measures, for an image added before Warden did.
    public func recordImageMeasurements(
        name: String, kernelAuthenticodeSHA256: [UInt8]?, sectionMeasurements: [BootReference.Measurement],
        actor: String, now: Date = Date()
    ) throws(StoreError) {
        try write { db in
            let changed = try db.execute(
                sql: "UPDATE image SET kernelAuthenticodeSHA256 = ?, sectionMeasurements = ? WHERE name = ?",
                arguments: [
                    kernelAuthenticodeSHA256.map { Data($0) },
                    String(decoding: try JSONEncoder().encode(sectionMeasurements), as: UTF8.self), name,
                ])
            guard changed == 1 else { throw StoreError.notFound("image \(name)") }
            try db.appendAudit(
                actor: actor, action: "image-measured", subject: "image/\(name)",
                details:
                    "recorded the PCR 11 events and kernel Authenticode digest of an image added before Warden recorded them",
                now: now)
        }
    }

    /// Records `signed` as image `sha256`'s (hex) Secure Boot signed file, whose bytes are
    /// stored already, unless another appliance signed it first; every image of that file
    /// gets it. Returns the signed file the images have now. Audited.
    public func recordSignedImage(sha256: String, _ signed: ImageRecord.SignedImage, actor: String, now: Date = Date())
        throws(StoreError) -> ImageRecord.SignedImage
    {
        try write { db in
            let digest = Data(Hex.decode(sha256) ?? [])
            guard try db.hasImageContent(sha256: Hex.decode(signed.sha256) ?? [], size: signed.size) else {
                throw StoreError.invalid("image \(sha256): its signed bytes are not all in the database")
            }
            let names = try String.fetchAll(
                db, sql: "SELECT name FROM image WHERE sha256 = ? AND signedSHA256 IS NULL ORDER BY name",
                arguments: [digest])
            if !names.isEmpty {
                try db.execute(
                    sql: """
                        UPDATE image SET signedSHA256 = ?, signedAuthenticodeSHA256 = ?, signedSize = ?
                        WHERE sha256 = ? AND signedSHA256 IS NULL
                        """,
                    arguments: [
                        Data(Hex.decode(signed.sha256) ?? []), Data(Hex.decode(signed.authenticodeSHA256) ?? []),
                        signed.size, digest,
                    ])
                for name in names {
                    try db.appendAudit(
                        actor: actor, action: "image-signed", subject: "image/\(name)",
                        details:
                            "signed for Secure Boot: sha256 \(signed.sha256), Authenticode sha256 \(signed.authenticodeSHA256)",
                        now: now)
                }
            }
            guard
                let row = try SQLRow.fetchOne(
                    db, sql: "SELECT * FROM image WHERE sha256 = ? ORDER BY name LIMIT 1", arguments: [digest]),
                let current = ImageRecord(row, machines: []).secureBootSigned
            else { throw StoreError.notFound("image \(sha256)") }
            return current
        }
    }

    /// Every image, by name.
    public func images() throws(StoreError) -> [ImageRecord] {
        try read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM image ORDER BY name").map { try Self.image($0, db) }
        }
    }

    /// The image named `name`.
    public func image(named name: String) throws(StoreError) -> ImageRecord {
        let found = try read { db in
            try SQLRow.fetchOne(db, sql: "SELECT * FROM image WHERE name = ?", arguments: [name]).map {
                try Self.image($0, db)
            }
        }
        guard let found else { throw .notFound("image \(name)") }
        return found
    }

    /// Removes image `name` from the catalogue, unless a machine boots it, with the bytes of
    /// its files (the image and the one signed for Secure Boot) that no other image is, as
    /// its own or its signed file; returns the SHA-256 (hex) of the files removed.
    public func removeImage(named name: String, actor: String, now: Date = Date()) throws(StoreError) -> [String] {
        try write { db in
            guard
                let row = try SQLRow.fetchOne(
                    db, sql: "SELECT id, sha256, signedSHA256 FROM image WHERE name = ?", arguments: [name])
            else { throw StoreError.notFound("image \(name)") }
            let id: Int64 = row["id"]
            let users = try String.fetchAll(
                db, sql: "SELECT name FROM machine WHERE imageID = ? ORDER BY name", arguments: [id])
            guard users.isEmpty else {
                throw StoreError.invalid(
                    "image \(name) is assigned to \(users.joined(separator: ", ")); assign them another first")
            }
            try db.execute(sql: "DELETE FROM image WHERE id = ?", arguments: [id])
            let digest: Data = row["sha256"]
            var removed: [String] = []
            for file in [digest] + ((row["signedSHA256"] as Data?).map { [$0] } ?? []) {
                let used =
                    try Bool.fetchOne(
                        db, sql: "SELECT EXISTS (SELECT 1 FROM image WHERE sha256 = ? OR signedSHA256 = ?)",
                        arguments: [file, file]) ?? false
                guard !used else { continue }
                try db.execute(sql: "DELETE FROM imagePart WHERE sha256 = ?", arguments: [file])
                removed.append(Hex.encode(file))
            }
            try db.appendAudit(
                actor: actor, action: "image-removed", subject: "image/\(name)",
                details: "UKI sha256 \(Hex.encode(digest))", now: now)
            return removed
        }
    }

    /// Assigns image `image` (nil: none) to machine `machine`.
    public func setImage(machineNamed machine: String, image: String?, actor: String, now: Date = Date())
        throws(StoreError)
    {
        try write { db in
            guard
                let machineID = try Int64.fetchOne(
                    db, sql: "SELECT id FROM machine WHERE name = ?", arguments: [machine])
            else {
                throw StoreError.notFound("machine \(machine)")
            }
            try db.assignImage(image, machineID: machineID)
            try db.appendAudit(
                actor: actor, action: "image-assigned", subject: "machine/\(machineID)",
                details: image.map { "machine \(machine) boots image \($0)" } ?? "machine \(machine) boots no image",
                now: now)
        }
    }

    /// The image machine `machineID` boots, if any, without the list of the machines that
    /// share it: boot scripts and attestations ask for it, once per boot, for every machine.
    public func image(ofMachine machineID: Int64) throws(StoreError) -> ImageRecord? {
        try read { db in
            try SQLRow.fetchOne(
                db, sql: "SELECT i.* FROM image i JOIN machine m ON m.imageID = i.id WHERE m.id = ?",
                arguments: [machineID]
            )
            .map { ImageRecord($0, machines: []) }
        }
    }

    private static func image(_ row: SQLRow, _ db: SQLTransaction) throws -> ImageRecord {
        ImageRecord(
            row,
            machines: try String.fetchAll(
                db, sql: "SELECT name FROM machine WHERE imageID = ? ORDER BY name", arguments: [row["id"] as Int64]))
    }
}

extension SQLTransaction {
    /// Points machine `machineID` at image `name` (nil: none), in the caller's transaction.
    func assignImage(_ name: String?, machineID: Int64) throws {
        var imageID: Int64?
        if let name {
            imageID = try Int64.fetchOne(self, sql: "SELECT id FROM image WHERE name = ?", arguments: [name])
            guard imageID != nil else { throw StoreError.notFound("image \(name)") }
        }
        try execute(sql: "UPDATE machine SET imageID = ? WHERE id = ?", arguments: [imageID, machineID])
    }
}
