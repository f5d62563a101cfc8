import TSS

extension TPMPublic {
    /// The object's TPM Name: nameAlg ‖ H(TPMT_PUBLIC), over the public area exactly as
    /// received; nil for a name algorithm Warden cannot hash.
    public var name: [UInt8]? {
        guard let algorithm = nameAlgorithm.digestAlgorithm else { return nil }
        let alg = nameAlgorithm.rawValue
        return [UInt8(alg >> 8), UInt8(alg & 0xff)] + algorithm.hash(publicArea)
    }
}
