#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Octets
import WardenAPI
import WardenClient
import WardenCrypto

/// What `warden-agent secureboot-enrol` did.
public enum SecureBootEnrolmentOutcome: Sendable {
    /// The rack's keys were written, in this order; Warden recorded it for the machine.
    case enrolled(machineID: Int64, variables: [String])
    /// The firmware is not in setup mode: the machine was only registered, as `register` does.
    case notInSetupMode(AgentMessages.DiscoverResponse)
}

/// The firmware's Secure Boot variables, in an efivarfs folder.
public struct FirmwareVariables: Sendable {
    /// The efivarfs folder (`/sys/firmware/efi/efivars` on a node).
    public let folder: String

    public init(folder: String) { self.folder = folder }

    /// Whether the firmware is in setup mode: its SetupMode variable is 1 (no PK enrolled).
    /// A firmware without one (no Secure Boot, or efivarfs not mounted) is not.
    public func inSetupMode() -> Bool {
        EFIVariableFile(folder: folder, name: "SetupMode", vendor: .globalVariable).data() == [1]
    }

    /// The vendor of the key variables enrolment writes; nil for any other name.
    static func vendor(of name: String) -> EFIGUID? {
        switch name {
        case "PK", "KEK": .globalVariable
        case "db": .imageSecurityDatabase
        default: nil
        }
    }

    /// Non-volatile, boot-service and runtime access, time-based authenticated write.
    static let authenticatedWrite: UInt32 = 0x27

    /// Writes `name`'s authenticated update, as the firmware takes it.
    func write(_ name: String, update: [UInt8]) throws(AgentError) {
        guard let vendor = Self.vendor(of: name) else { throw .badRelease("\(name) is not PK, KEK or db") }
        try EFIVariableFile(folder: folder, name: name, vendor: vendor)
            .write(attributes: Self.authenticatedWrite, data: update)
    }
}

extension Attestor {
    /// Enrols the rack's Secure Boot keys in a firmware in setup mode: asks an appliance for
    /// the updates (with the EK and the firmware's event log), accepts them only signed by
    /// Warden's release key (a refusal is reported to that appliance, then the agent stops),
    /// writes db, KEK and PK, and reports what the firmware took. A firmware not in setup
    /// mode is only registered.
    /// `eventLog` is read only for a firmware in setup mode.
    public func enrolSecureBoot(eventLog: () throws -> [UInt8], firmware: FirmwareVariables) async throws
        -> SecureBootEnrolmentOutcome
    {
        guard firmware.inSetupMode() else { return .notInSetupMode(try await discover()) }
        let endorsement = try endorsementRequest()
        let request = SecureBootEnrolmentMessages.Request(
            ekPublic: endorsement.ekPublic, ekCertificate: endorsement.ekCertificate,
            eventLog: Base64.encode(try eventLog()), setupMode: true)
        let (signed, updates) = try await appliances.run { server in
            let client = try await HTTPSClient(url: server, serverCA: serverCA, serverCheck: removed.serverCheck)
            defer { Task { await client.close() } }
            let signed = try await refusing {
                try await client.call(
                    .POST, "/v1/agent/secureboot/enrol", request, as: SecureBootEnrolmentMessages.SignedUpdates.self)
            }
            do throws(AgentError) {
                return (signed, try SecureBootUpdateCheck.updates(in: signed, serverCA: try serverCAText()))
            } catch {
                _ = try? await client.call(
                    .POST, "/v1/agent/secureboot/refused",
                    SecureBootEnrolmentMessages.Refusal(ekPublic: endorsement.ekPublic, reason: error.description),
                    as: SecureBootEnrolmentMessages.Recorded.self)
                throw error
            }
        }
        // Written once, whichever appliance hears of it: a second write of the same update
        // is refused by the firmware (its time is not later than the variable's).
        var written: [String: String] = [:]
        var problem: String?
        for variable in updates.variables {
            do throws(AgentError) {
                let update = try SecureBootUpdateCheck.bytes(of: variable)
                try firmware.write(variable.name, update: update)
                written[variable.name] = Hex.encode(DigestAlgorithm.sha256.hash(update))
            } catch {
                problem = error.description
                break
            }
        }
        let report = SecureBootEnrolmentMessages.Report(
            payload: signed.payload, signature: signed.signature, written: written, problem: problem)
        let recorded = try await appliances.run { server in
            let client = try await HTTPSClient(url: server, serverCA: serverCA, serverCheck: removed.serverCheck)
            defer { Task { await client.close() } }
            return try await refusing {
                try await client.call(
                    .POST, "/v1/agent/secureboot/enrolled", report, as: SecureBootEnrolmentMessages.Recorded.self)
            }
        }
        if let problem { throw AgentError.output("the firmware did not take every update: \(problem)") }
        return .enrolled(machineID: recorded.machineID, variables: updates.variables.map(\.name))
    }
}

/// The updates an appliance sent, accepted only as Warden's release key signed them: the
/// release certificate issued by the server CA for release signing, its signature over the
/// exact payload, and nothing but PK, KEK and db, each once.
enum SecureBootUpdateCheck {
    static func updates(in signed: SecureBootEnrolmentMessages.SignedUpdates, serverCA: String) throws(AgentError)
        -> SecureBootEnrolmentMessages.Updates
    {
        let key = try ReleaseSigner.publicKey(certificatePEM: signed.releaseCertificate, serverCA: serverCA)
        guard let payload = Base64.decode(signed.payload), let signature = Base64.decode(signed.signature),
            key.isValidSignature(
                signature, digest: DigestAlgorithm.sha256.hash(SecureBootEnrolmentMessages.signingContext + payload),
                scheme: .ecdsa(.sha256))
        else {
            throw .badRelease("the Secure Boot updates are not signed by Warden's release key")
        }
        guard let updates = try? JSONDecoder().decode(SecureBootEnrolmentMessages.Updates.self, from: Data(payload))
        else { throw .badRelease("the signed Secure Boot updates are unreadable") }
        let names = updates.variables.map(\.name)
        guard Set(names) == ["PK", "KEK", "db"], names.count == 3, names.last == "PK" else {
            throw .badRelease("the updates are not PK, KEK and db, with PK last: \(names.joined(separator: ", "))")
        }
        for variable in updates.variables { _ = try bytes(of: variable) }
        return updates
    }

    static func bytes(of variable: SecureBootEnrolmentMessages.VariableUpdate) throws(AgentError) -> [UInt8] {
        guard let bytes = Base64.decode(variable.update), !bytes.isEmpty else {
            throw .badRelease("the \(variable.name) update is not base64")
        }
        return bytes
    }
}
