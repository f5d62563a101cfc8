/// The server's answers to the agent, written by hand: it sends one of each per attestation.
extension AgentMessages.ChallengeResponse: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) {
        json.beginObject()
        json.key("nonce")
        json.string(nonce)
        json.endObject()
    }
}

extension AgentMessages.ReleaseResponse: SortedJSONWritable {
    public func write(to json: inout SortedJSONWriter) {
        json.beginObject()
        json.key("ciphertext")
        json.string(ciphertext)
        json.key("credentialBlob")
        json.string(credentialBlob)
        json.key("encryptedSecret")
        json.string(encryptedSecret)
        json.key("releaseCertificate")
        json.string(releaseCertificate)
        json.key("signature")
        json.string(signature)
        json.endObject()
    }
}
