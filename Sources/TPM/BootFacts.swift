import TSS

/// What an event log says about the boot, derived only from measurements whose digests
/// vouch for the data read (EV_EFI_VARIABLE_DRIVER_CONFIG, whose digest covers its data)
/// or from the digests themselves (boot applications). Meaningful only for a log whose
/// replay matched quoted PCRs.
public struct BootFacts: Sendable, Equatable {
    /// Secure Boot state from PCR 7's `SecureBoot` variable; nil when the log does not say.
    public let secureBootEnabled: Bool?
    /// Digests of the measured Secure Boot databases `PK`, `KEK`, `db` and `dbx`, per bank.
    public let secureBootDatabases: [String: [TPMAlgorithmID: [UInt8]]]
    /// Digests (Authenticode hashes) of each EFI application loaded, in order, per bank (PCR 4).
    public let bootApplications: [[TPMAlgorithmID: [UInt8]]]
}

extension EventLog {
    static let secureBootDatabases: [(name: String, guid: String)] = [
        ("PK", UEFIVariable.globalVariableGUID), ("KEK", UEFIVariable.globalVariableGUID),
        ("db", UEFIVariable.imageSecurityDatabaseGUID), ("dbx", UEFIVariable.imageSecurityDatabaseGUID),
    ]

    /// Derives the boot facts from events in `anchoredPCRs`, ignoring the events listed in
    /// `mismatched` (those whose data fails its digest: see ``eventDataMismatches()``).
    public func bootFacts(anchoredPCRs: Set<Int>, excluding mismatched: Set<Int>) -> BootFacts {
        var secureBoot: Bool?
        var databases: [String: [TPMAlgorithmID: [UInt8]]] = [:]
        var applications: [[TPMAlgorithmID: [UInt8]]] = []
        for event in events where anchoredPCRs.contains(event.pcr) && !mismatched.contains(event.index) {
            switch (event.type, event.pcr) {
            case (.efiVariableDriverConfig, 7):
                guard let variable = UEFIVariable(event.data) else { continue }
                if variable.isVariable("SecureBoot", guid: UEFIVariable.globalVariableGUID) {
                    secureBoot = variable.data.count == 1 && variable.data.first == 1
                } else if let database = Self.secureBootDatabases.first(where: {
                    variable.isVariable($0.name, guid: $0.guid)
                }) {
                    databases[database.name] = Self.digestsByBank(event)
                }
            case (.efiBootServicesApplication, 4):
                applications.append(Self.digestsByBank(event))
            default:
                continue
            }
        }
        return BootFacts(secureBootEnabled: secureBoot, secureBootDatabases: databases, bootApplications: applications)
    }

    private static func digestsByBank(_ event: LogEvent) -> [TPMAlgorithmID: [UInt8]] {
        Dictionary(uniqueKeysWithValues: event.digests.map { ($0.algorithm, Array($0.bytes)) })
    }
}
