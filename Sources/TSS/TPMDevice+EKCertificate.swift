import CTSS2

extension TPMDevice {
    /// Where the TCG EK Credential Profile keeps the RSA-2048 EK certificate.
    public static let rsaEKCertificateIndex: UInt32 = 0x01c0_0002
    /// More than any EK certificate; an index claiming more is not read.
    public static let maxCertificateSize = 4096

    /// The EK certificate (DER) from NV, or nil when the TPM has none.
    public func endorsementCertificate(index: UInt32 = rsaEKCertificateIndex) throws(TPMDeviceError) -> [UInt8]? {
        var nv: ESYS_TR = 0
        guard
            Esys_TR_FromTPMPublic(esys, index, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), &nv)
                == 0
        else { return nil }
        defer { _ = Esys_TR_Close(esys, &nv) }
        var nvPublic: UnsafeMutablePointer<TPM2B_NV_PUBLIC>?
        try Self.check(
            Esys_NV_ReadPublic(
                esys, nv, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), &nvPublic, nil),
            "read the EK certificate's NV public area")
        let size = Int(nvPublic?.pointee.nvPublic.dataSize ?? 0)
        Esys_Free(nvPublic)
        guard size > 0, size <= Self.maxCertificateSize else {
            throw TPMDeviceError(operation: "read the EK certificate: its index holds \(size) bytes", code: 1)
        }
        var certificate: [UInt8] = []
        while certificate.count < size {
            let chunk = UInt16(min(512, size - certificate.count))
            var data: UnsafeMutablePointer<TPM2B_MAX_NV_BUFFER>?
            try Self.check(
                Esys_NV_Read(
                    esys, ESYS_TR(ESYS_TR_RH_OWNER), nv, ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE),
                    ESYS_TR(ESYS_TR_NONE),
                    chunk, UInt16(certificate.count), &data), "read the EK certificate")
            defer { Esys_Free(data) }
            guard let data, data.pointee.size == chunk else {
                throw TPMDeviceError(operation: "read the EK certificate: short read", code: 1)
            }
            certificate += prefixBytes(of: data.pointee.buffer, data.pointee.size)
        }
        return certificate
    }
}
