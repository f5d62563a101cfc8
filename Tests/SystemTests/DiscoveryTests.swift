import Foundation
import Testing
import TestSupport
import TSS
import WardenCrypto

/// A machine that is not enrolled registers itself with its EK certificate (read from the
/// TPM's NV index 0x01c00002, where vendors put it); an operator adopts it only when that
/// certificate was issued by a configured TPM vendor CA and certifies the EK it presented.
@Suite struct DiscoveryTests {
    /// A vendor CA, and an EK certificate it issued written into the TPM's NV.
    private func certify(_ tpm: SoftwareTPM, by vendor: String) throws {
        func openssl(_ arguments: [String]) throws {
            let result = try Command.run("openssl", arguments, in: tpm.folder)
            guard result.status == 0 else { throw CommandFailure("openssl \(arguments.first ?? ""): \(result.stderr)") }
        }
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
            "/O=\(vendor)/CN=\(vendor) EK CA",
            "-keyout", "\(vendor).key", "-out", "\(vendor).pem", "-days", "2",
        ])
        try tpm.run("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pem", "-f", "pem"])
        try openssl([
            "x509", "-new", "-force_pubkey", "ek.pem", "-subj", "/CN=EK", "-CA", "\(vendor).pem", "-CAkey",
            "\(vendor).key", "-days", "1",
            "-outform", "DER", "-out", "ek.der",
        ])
        let size = try tpm.bytes("ek.der").count
        try tpm.run(
            "tpm2_nvdefine",
            ["0x01c00002", "-C", "o", "-s", String(size), "-a", "ownerread|ownerwrite|authread|authwrite|no_da"])
        try tpm.run("tpm2_nvwrite", ["0x01c00002", "-C", "o", "-i", "ek.der"])
    }

    @Test func aDiscoveredMachineIsAdoptedOnlyWithAVendorCertifiedEK() throws {
        let trusted = try SoftwareTPM(), untrusted = try SoftwareTPM()
        try certify(trusted, by: "TrustedVendor")
        try certify(untrusted, by: "OtherVendor")
        let server = try WardenServerProcess(environment: [
            "WARDEN_TPM_VENDOR_CAS": trusted.folder.appendingPathComponent("TrustedVendor.pem").path
        ])
        let store = try EnrolmentStoreReader.open(server.stateDir)

        for tpm in [trusted, untrusted] {
            let registered = try server.agent("register", tcti: tpm.tcti)
            #expect(registered.status == 0, "\(registered.stderr)")
        }
        let discovered = try store.machines()
        #expect(discovered.count == 2 && discovered.allSatisfy { $0.state == .discovered })
        #expect(
            try server.agent(
                "attest", tcti: trusted.tcti, ["--out", server.folder.appendingPathComponent("early").path]
            ).status == 1)

        let trustedName = try EndorsementKeyName.of(trusted)
        let trustedID = try #require(discovered.first { $0.ekName == trustedName }?.id)
        let untrustedID = try #require(discovered.first { $0.ekName != trustedName }?.id)
        // Only a certificate a configured vendor CA issued is kept: the other one never was.
        #expect(
            discovered.first { $0.id == trustedID }?.hasEKCertificate == true
                && discovered.first { $0.id == untrustedID }?.hasEKCertificate == false)
        let refused = try server.cli(["machine", "enroll", "node-2", "--discovered", String(untrustedID)])
        #expect(
            refused.status == 1 && refused.stderr.contains("sent no EK certificate a configured TPM vendor CA issued"),
            "\(refused.stderr)")
        let adopted = try server.cli(["machine", "enroll", "node-1", "--discovered", String(trustedID)])
        #expect(adopted.status == 0, "\(adopted.stderr)")
        let attested = try server.agent(
            "attest", tcti: trusted.tcti, ["--out", server.folder.appendingPathComponent("node-1").path])
        #expect(attested.status == 0, "\(attested.stderr)")
        #expect(try store.machine(named: "node-1").state == .active)
        #expect(
            try store.auditRecords(subjectPrefix: "machine/\(trustedID)").map(\.action).starts(with: [
                "discovery", "enrolment",
            ]))
    }
}

/// The hex TPM name of a software TPM's EK, as the store lists it.
enum EndorsementKeyName {
    static func of(_ tpm: SoftwareTPM) throws -> String {
        try tpm.run("tpm2_createek", ["-c", "ek-name.ctx", "-G", "rsa", "-u", "ek-name.pub"])
        let name = try TPMPublic.decode(try tpm.bytes("ek-name.pub")).name ?? []
        return Hex.encode(name)
    }
}
