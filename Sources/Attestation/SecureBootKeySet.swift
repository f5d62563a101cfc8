import TSS
import WardenCrypto

extension Policy {
    /// PCR 7 predicted from the keys a machine's firmware holds, not learned from a boot: the
    /// certificates of PK, KEK and db (SHA-256 fingerprints of their DER, lowercase hex),
    /// the db certificates that may authorise what boots (each EV_EFI_VARIABLE_AUTHORITY
    /// event names one), and the dbx the firmware reports, pinned by the SHA-256 digest of
    /// its measurement (empty: any dbx). Written in a policy as
    ///
    /// ```yaml
    /// secureBootKeys:
    ///   pk: [6f6e…]
    ///   kek: [7021…]
    ///   db: [8dab…, 4e1f…]
    ///   signers: [8dab…]
    ///   dbx: [1963…]
    /// ```
    ///
    /// or `secureBootKeys: rack`, which the appliance the policy is applied to replaces with
    /// the keys `warden secureboot init` made for the rack.
    public struct SecureBootKeySet: Sendable, Equatable {
        public let pk: Set<String>
        public let kek: Set<String>
        public let db: Set<String>
        public let signers: Set<String>
        public let dbx: Set<String>

        /// The set, validated: one PK, at least one KEK and db certificate, signers that db
        /// holds (no other can authorise a boot), every value a lowercase SHA-256 hex digest.
        public init(pk: Set<String>, kek: Set<String>, db: Set<String>, signers: Set<String>, dbx: Set<String> = [])
            throws(PolicyError)
        {
            for (name, values) in [("pk", pk), ("kek", kek), ("db", db), ("signers", signers), ("dbx", dbx)] {
                for value in values where value.count != 64 || Hex.decode(value) == nil || value != value.lowercased() {
                    throw PolicyError("secureBootKeys.\(name): \"\(value)\" is not a lowercase SHA-256 hex digest")
                }
            }
            guard pk.count == 1 else { throw PolicyError("secureBootKeys.pk must name exactly one certificate") }
            guard !kek.isEmpty, !db.isEmpty, !signers.isEmpty else {
                throw PolicyError("secureBootKeys needs at least one kek, db and signers certificate")
            }
            guard signers.isSubset(of: db) else {
                throw PolicyError(
                    "secureBootKeys.signers \(signers.subtracting(db).sorted().joined(separator: ", ")) is not in db")
            }
            self.pk = pk
            self.kek = kek
            self.db = db
            self.signers = signers
            self.dbx = dbx
        }

        /// The certificates `variable` must hold; nil for dbx and any other variable.
        func certificates(of variable: String) -> Set<String>? {
            switch variable {
            case "PK": pk
            case "KEK": kek
            case "db": db
            default: nil
            }
        }
    }
}

extension Policy {
    /// This policy with PCR 7 predicted from `keys` instead of pinned: for a machine whose
    /// firmware Warden enrolled with them, whose PCR 7 no value from before could match.
    public func predictingPCR7(from keys: SecureBootKeySet) throws(PolicyError) -> Policy {
        try Policy(
            name: name, pcrs: pcrs.mapValues { $0.filter { $0.key != 7 } }.filter { !$0.value.isEmpty },
            eventLog: eventLog, secureBoot: secureBoot, image: image, bootApplications: bootApplications,
            unmeasuredBoot: unmeasuredBoot, secureBootKeys: keys)
    }
}
