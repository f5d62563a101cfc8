extension AgentMessages.AttestRequest: PlainJSONDecodable {
    /// The request in `json` when it is plain (``PlainJSONReader``): one object of this
    /// request's members, each at most once and none other (`eventLog` and `legacyBIOS` may
    /// be null or absent). Nil for any other body, which `JSONDecoder` then reads (or refuses)
    /// as before; for every body this reads, it reads the same request. Every attestation
    /// sends one, tens of kilobytes of base64: `JSONDecoder` spent about 5 % of the server's
    /// CPU per attestation on it.
    public init?(plainJSON json: UnsafeRawBufferPointer) {
        var reader = PlainJSONReader(json)
        var keyID: Int64?
        var texts: [Member: String] = [:]
        // Outer nil: not sent; inner nil: sent as null.
        var eventLog: String??
        var legacyBIOS: Bool??
        let read = reader.object { name, reader in
            switch Member(rawValue: name) {
            case nil: return false
            case .attestationKeyID?:
                guard keyID == nil, let value = reader.integer() else { return false }
                keyID = value
            case .eventLog?:
                guard eventLog == nil else { return false }
                if reader.take(word: "null") {
                    eventLog = .some(nil)
                } else {
                    guard let value = reader.text() else { return false }
                    eventLog = value
                }
            case .legacyBIOS?:
                guard legacyBIOS == nil else { return false }
                if reader.take(word: "true") {
                    legacyBIOS = true
                } else if reader.take(word: "false") {
                    legacyBIOS = false
                } else if reader.take(word: "null") {
                    legacyBIOS = .some(nil)
                } else {
                    return false
                }
            case let member?:
                guard texts[member] == nil, let value = reader.text() else { return false }
                texts[member] = value
            }
            return true
        }
        guard read, let keyID, let nonce = texts[.nonce],
            let attest = texts[.attest], let signature = texts[.signature], let pcrs = texts[.pcrs]
        else { return nil }
        self.init(
            attestationKeyID: keyID, nonce: nonce, attest: attest, signature: signature, pcrs: pcrs,
            eventLog: eventLog ?? nil, legacyBIOS: legacyBIOS ?? nil)
    }

    private enum Member: String {
        case attestationKeyID, nonce, attest, signature, pcrs, eventLog, legacyBIOS
    }
}
