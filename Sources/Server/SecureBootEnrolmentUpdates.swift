import Foundation
import UEFIVariables

extension SecureBootKeys {
    /// The variables enrolment writes, in the order to write them: db and KEK while the
    /// firmware is in setup mode, PK last (its write ends setup mode).
    public static let enrolmentOrder: [SecureBootVariable] = [.db, .kek, .pk]

    /// The state folder's file of `variable`'s enrolment update.
    static func updateFile(of variable: SecureBootVariable) -> StateFolder.File {
        switch variable {
        case .pk: .secureBootPKUpdate
        case .kek: .secureBootKEKUpdate
        case .db: .secureBootDBUpdate
        }
    }

    /// Writes the updates whose signer's key the folder holds (all three, unless the PK is
    /// offline: then db alone), signed at `now`: one set, good for every machine in setup
    /// mode, which every appliance serves as it is.
    func writeEnrolmentUpdates(now: Date) throws(SecureBootKeyError) {
        for update in try variableUpdates(time: SecureBootVariable.time(now)) {
            guard let signed = update.signed else { continue }
            do { try folder.write(Self.updateFile(of: update.variable), bytes: signed) } catch {
                throw .unwritable("cannot write the \(update.variable.rawValue) enrolment update: \(error)")
            }
        }
    }

    /// The updates that enrol the rack's keys, in ``enrolmentOrder``, as `init` wrote them
    /// (with an offline PK, `secureboot updates` and `complete` with `--out STATE-DIR/secureboot`):
    /// each must end with exactly the signature list the keys make now, so that no stale
    /// update is ever served.
    public func enrolmentUpdates() throws(SecureBootKeyError) -> [(variable: SecureBootVariable, update: [UInt8])] {
        try Self.enrolmentOrder.map { variable throws(SecureBootKeyError) in
            let path = folder.url(Self.updateFile(of: variable)).path
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .enrolmentUpdate(
                    variable,
                    "\(path) is missing (warden secureboot updates --out \(folder.path)/secureboot writes it)")
            }
            let update = [UInt8](data)
            let list = try signatureList(of: variable)
            guard update.count > list.count, update.suffix(list.count).elementsEqual(list) else {
                throw .enrolmentUpdate(variable, "\(path) does not carry the rack's \(variable.rawValue) certificates")
            }
            return (variable, update)
        }
    }
}
