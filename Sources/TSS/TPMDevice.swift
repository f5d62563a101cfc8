import CTSS2

#if canImport(Glibc)
import Glibc
#endif

/// A TPM reached through a TCTI (`device:/dev/tpmrm0` on a node, `swtpm:host=…,port=…` in
/// tests), driven with libtss2-esys: what `warden-agent` needs to prove its platform.
/// Owns its ESYS and TCTI contexts; use it from one thread.
public final class TPMDevice {
    private var tcti: OpaquePointer?
    var esys: OpaquePointer?

    /// Connects to the TPM named by `tcti`.
    public init(tcti name: String) throws(TPMDeviceError) {
        _ = TSSLogging.quieted
        _ = Self.brokenPipesIgnored
        var tcti: OpaquePointer?
        try Self.check(Tss2_TctiLdr_Initialize(name, &tcti), "open TCTI \(name)")
        var esys: OpaquePointer?
        let rc = Esys_Initialize(&esys, tcti, nil)
        guard rc == 0 else {
            Tss2_TctiLdr_Finalize(&tcti)
            throw TPMDeviceError(operation: "initialise ESYS", code: rc)
        }
        self.tcti = tcti
        self.esys = esys
    }

    /// libtss2's socket TCTIs (swtpm, mssim) send with `write(2)`: a simulator that closed
    /// its end would kill the whole process with SIGPIPE instead of failing one command.
    /// Ignored once, process-wide, as NIO does for its sockets.
    private static let brokenPipesIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    deinit {
        Esys_Finalize(&esys)
        Tss2_TctiLdr_Finalize(&tcti)
    }

    /// A loaded key: its ESYS handle and its marshaled TPM2B_PUBLIC.
    public struct LoadedKey {
        let handle: ESYS_TR
        /// TPM2B_PUBLIC, as `tpm2_createek -u` / `tpm2_createak -u` write it.
        public let publicArea: [UInt8]
    }

    /// The RSA-2048 EK from the TCG default template (EK Credential Profile, template L-1):
    /// the key TPM vendors and swtpm certify.
    public func createEndorsementKey() throws(TPMDeviceError) -> LoadedKey {
        var sensitive = TPM2B_SENSITIVE_CREATE()
        var template = TPM2B_PUBLIC()
        template.publicArea = Templates.endorsementKey()
        var outsideInfo = TPM2B_DATA()
        var creationPCR = TPML_PCR_SELECTION()
        var handle: ESYS_TR = 0
        var outPublic: UnsafeMutablePointer<TPM2B_PUBLIC>?
        try Self.check(
            Esys_CreatePrimary(
                esys, ESYS_TR(ESYS_TR_RH_ENDORSEMENT), ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE),
                ESYS_TR(ESYS_TR_NONE),
                &sensitive, &template, &outsideInfo, &creationPCR, &handle, &outPublic, nil, nil, nil), "create the EK")
        defer { Esys_Free(outPublic) }
        return LoadedKey(handle: handle, publicArea: try Self.marshal(outPublic))
    }

    /// A restricted RSA-2048 RSASSA/SHA-256 signing key (an AK) under `ek`, loaded.
    public func createAttestationKey(under ek: LoadedKey) throws(TPMDeviceError) -> LoadedKey {
        var sensitive = TPM2B_SENSITIVE_CREATE()
        var template = TPM2B_PUBLIC()
        template.publicArea = Templates.attestationKey()
        var outsideInfo = TPM2B_DATA()
        var creationPCR = TPML_PCR_SELECTION()
        var outPrivate: UnsafeMutablePointer<TPM2B_PRIVATE>?
        var outPublic: UnsafeMutablePointer<TPM2B_PUBLIC>?
        let createSession = try endorsementPolicySession()
        defer { flush(session: createSession) }
        try Self.check(
            Esys_Create(
                esys, ek.handle, createSession, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                &sensitive, &template, &outsideInfo, &creationPCR, &outPrivate, &outPublic, nil, nil, nil),
            "create the AK")
        defer {
            Esys_Free(outPrivate)
            Esys_Free(outPublic)
        }
        let loadSession = try endorsementPolicySession()
        defer { flush(session: loadSession) }
        var handle: ESYS_TR = 0
        try Self.check(
            Esys_Load(
                esys, ek.handle, loadSession, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), outPrivate, outPublic,
                &handle), "load the AK")
        return LoadedKey(handle: handle, publicArea: try Self.marshal(outPublic))
    }

    /// A quote by `ak` over `selection` with `nonce`: the TPMS_ATTEST bytes and the
    /// marshaled TPMT_SIGNATURE.
    public func quote(with ak: LoadedKey, selection: PCRSelection, nonce: [UInt8]) throws(TPMDeviceError) -> (
        attest: [UInt8], signature: [UInt8]
    ) {
        var qualifying = TPM2B_DATA()
        qualifying.size = try Self.fill(&qualifying.buffer, nonce)
        var scheme = TPMT_SIG_SCHEME()
        scheme.scheme = TPMAlgorithmID.null.rawValue
        var pcrSelection = try Self.cSelection(selection)
        var quoted: UnsafeMutablePointer<TPM2B_ATTEST>?
        var signature: UnsafeMutablePointer<TPMT_SIGNATURE>?
        try Self.check(
            Esys_Quote(
                esys, ak.handle, ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                &qualifying, &scheme, &pcrSelection, &quoted, &signature), "quote")
        defer {
            Esys_Free(quoted)
            Esys_Free(signature)
        }
        guard let quoted, let signature else { throw TPMDeviceError(operation: "quote", code: 1) }
        var writer = MUWriter(structure: "TPMT_SIGNATURE")
        do { try writer.write(&signature.pointee, Tss2_MU_TPMT_SIGNATURE_Marshal) } catch {
            throw TPMDeviceError(operation: "marshal the quote's signature", code: 1)
        }
        return (prefixBytes(of: quoted.pointee.attestationData, quoted.pointee.size), writer.bytes)
    }

    /// The current values of `selection`, in selection order (read eight at a time, the
    /// most TPM2_PCR_Read returns).
    public func readPCRs(_ selection: PCRSelection) throws(TPMDeviceError) -> [[UInt8]] {
        var values: [[UInt8]] = []
        for bank in selection.banks {
            for chunk in stride(from: 0, to: bank.pcrs.count, by: 8) {
                let pcrs = Array(bank.pcrs[chunk..<min(chunk + 8, bank.pcrs.count)])
                var request = try Self.cSelection(PCRSelection([PCRSelection.Bank(hash: bank.hash, pcrs: pcrs)]))
                var counter: UInt32 = 0
                var returned: UnsafeMutablePointer<TPML_PCR_SELECTION>?
                var digests: UnsafeMutablePointer<TPML_DIGEST>?
                try Self.check(
                    Esys_PCR_Read(
                        esys, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                        &request, &counter, &returned, &digests), "read PCRs")
                defer {
                    Esys_Free(returned)
                    Esys_Free(digests)
                }
                guard let returned, let digests,
                    PCRSelection(returned.pointee) == PCRSelection([PCRSelection.Bank(hash: bank.hash, pcrs: pcrs)]),
                    Int(digests.pointee.count) == pcrs.count
                else { throw TPMDeviceError(operation: "read PCRs: the TPM returned another selection", code: 1) }
                values += DigestList.digests(of: digests.pointee)
            }
        }
        return values
    }

    /// TPM2_ActivateCredential: the credential Warden made for `ak` under `ek`, recovered.
    public func activateCredential(ak: LoadedKey, ek: LoadedKey, credentialBlob: [UInt8], encryptedSecret: [UInt8])
        throws(TPMDeviceError) -> [UInt8]
    {
        var blob = TPM2B_ID_OBJECT()
        var secret = TPM2B_ENCRYPTED_SECRET()
        do {
            var reader = MUReader(credentialBlob, structure: "TPM2B_ID_OBJECT")
            try reader.read("credential", into: &blob, Tss2_MU_TPM2B_ID_OBJECT_Unmarshal)
            try reader.requireEnd()
            var secretReader = MUReader(encryptedSecret, structure: "TPM2B_ENCRYPTED_SECRET")
            try secretReader.read("secret", into: &secret, Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal)
            try secretReader.requireEnd()
        } catch {
            throw TPMDeviceError(operation: "read the credential: \(error)", code: 1)
        }
        let session = try endorsementPolicySession()
        defer { flush(session: session) }
        var certInfo: UnsafeMutablePointer<TPM2B_DIGEST>?
        try Self.check(
            Esys_ActivateCredential(
                esys, ak.handle, ek.handle, ESYS_TR(ESYS_TR_PASSWORD), session, ESYS_TR(ESYS_TR_NONE), &blob, &secret,
                &certInfo),
            "activate the credential")
        defer { Esys_Free(certInfo) }
        guard let certInfo else { throw TPMDeviceError(operation: "activate the credential", code: 1) }
        return prefixBytes(of: certInfo.pointee.buffer, certInfo.pointee.size)
    }

    /// Unloads a key.
    public func flush(_ key: LoadedKey) {
        _ = Esys_FlushContext(esys, key.handle)
    }

    /// Ends a policy session (swtpm, like small TPMs, holds only a few).
    private func flush(session: ESYS_TR) {
        _ = Esys_FlushContext(esys, session)
    }

    /// A policy session satisfying the EK's policy, PolicySecret(TPM_RH_ENDORSEMENT), for one
    /// command; the caller flushes it.
    private func endorsementPolicySession() throws(TPMDeviceError) -> ESYS_TR {
        var symmetric = TPMT_SYM_DEF()
        symmetric.algorithm = TPMAlgorithmID.null.rawValue
        var session: ESYS_TR = 0
        try Self.check(
            Esys_StartAuthSession(
                esys, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                ESYS_TR(ESYS_TR_NONE),
                nil, TPM2_SE(0x01), &symmetric, TPMAlgorithmID.sha256.rawValue, &session), "start a policy session")
        try Self.check(
            Esys_PolicySecret(
                esys, ESYS_TR(ESYS_TR_RH_ENDORSEMENT), session, ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE),
                ESYS_TR(ESYS_TR_NONE),
                nil, nil, nil, 0, nil, nil), "satisfy the EK's policy")
        return session
    }

    static func check(_ rc: TSS2_RC, _ operation: String) throws(TPMDeviceError) {
        guard rc == 0 else { throw TPMDeviceError(operation: operation, code: rc) }
    }

    private static func marshal(_ value: UnsafeMutablePointer<TPM2B_PUBLIC>?) throws(TPMDeviceError) -> [UInt8] {
        guard let value else { throw TPMDeviceError(operation: "read a public area", code: 1) }
        var writer = MUWriter(structure: "TPM2B_PUBLIC")
        do { try writer.write(&value.pointee, Tss2_MU_TPM2B_PUBLIC_Marshal) } catch {
            throw TPMDeviceError(operation: "marshal a public area", code: 1)
        }
        return writer.bytes
    }

    private static func fill<Tuple>(_ tuple: inout Tuple, _ bytes: [UInt8]) throws(TPMDeviceError) -> UInt16 {
        do { return try TSS.fill(&tuple, with: bytes, structure: "TPM2B") } catch {
            throw TPMDeviceError(operation: error.description, code: 1)
        }
    }

    private static func cSelection(_ selection: PCRSelection) throws(TPMDeviceError) -> TPML_PCR_SELECTION {
        do { return try selection.cValue() } catch { throw TPMDeviceError(operation: error.description, code: 1) }
    }
}

/// A TPM command failed; carries the TSS's decoded response code.
public struct TPMDeviceError: Error, Sendable, Equatable, CustomStringConvertible {
    public let operation: String
    public let code: UInt32

    public var description: String {
        let reason = Tss2_RC_Decode(code).map { String(cString: $0) } ?? "0x\(String(code, radix: 16))"
        return "TPM: cannot \(operation): \(reason)"
    }
}
