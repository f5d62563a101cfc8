import Audit
import Foundation
import Store
import WardenAPI

extension AdminService {
    /// Exports the audit chain for `caller` (operators and auditors alike) into a new file
    /// of the state folder's `exports/` folder; the export itself is audited first, so it
    /// appears in the bundle. The caller sends the file and removes it.
    func exportAudit(_ request: AuditExportRequest, by caller: AdminIdentity) throws(AdminError) -> String {
        let folder = state.path + "/exports"
        let file = folder + "/audit-\(UUID().uuidString).tar.gz"
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let scope = [
                request.from.map { "from \($0)" }, request.to.map { "to \($0)" },
                request.machine.map { "evidence of \($0)" },
            ].compactMap { $0 }
            try store.audit(
                actor: caller.actor, action: "audit-export", subject: "audit",
                details: scope.isEmpty ? "everything" : scope.joined(separator: ", "))
            _ = try AuditExporter.export(from: store, key: state.auditKey(), request: request, to: file)
            return file
        } catch let error as AuditError {
            if case .request(let why) = error { throw .invalid(why) }
            throw .internalError("\(error)")
        } catch {
            throw .internalError("\(error)")
        }
    }

    /// The audit chain's public key, for any authenticated caller to pin.
    func auditPublicKey(by caller: AdminIdentity) throws(AdminError) -> AdminMessages.AuditKey {
        do {
            let key = try state.auditKey().publicKey
            return AdminMessages.AuditKey(pem: key.pem, fingerprint: key.fingerprint)
        } catch {
            throw .internalError("the audit key cannot be read: \(error)")
        }
    }
}
