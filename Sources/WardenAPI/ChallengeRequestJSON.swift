extension AgentMessages.ChallengeRequest: PlainJSONDecodable {
    /// The request in `json` when it is plain (``PlainJSONReader``): one object of its two
    /// members, each once. Nil for any other body, which `JSONDecoder` then reads (or refuses)
    /// as before; for every body this reads, it reads the same request. Every attestation
    /// begins with one.
    public init?(plainJSON json: UnsafeRawBufferPointer) {
        var reader = PlainJSONReader(json)
        var keyID: Int64?
        var proof: String?
        let read = reader.object { name, reader in
            switch name {
            case "attestationKeyID" where keyID == nil:
                keyID = reader.integer()
                return keyID != nil
            case "proof" where proof == nil:
                proof = reader.text()
                return proof != nil
            default: return false
            }
        }
        guard read, let keyID, let proof else { return nil }
        self.init(attestationKeyID: keyID, proof: proof)
    }
}
