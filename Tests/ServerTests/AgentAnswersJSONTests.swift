import Foundation
@testable import Server
import Testing
import TestSupport
import WardenAPI

/// The answers to the agent, written by hand for speed, are the very bytes the API's `JSONEncoder`
/// writes for them, and read back to the same value.
@Suite struct AgentAnswersJSONTests {
    /// A stored property added later must be written by hand too: this fails until the
    /// writers and these counts are brought up to date together.
    @Test func theWritersKnowEveryStoredProperty() {
        #expect(Mirror(reflecting: AgentMessages.ChallengeResponse(nonce: "")).children.count == 1)
        let release = AgentMessages.ReleaseResponse(
            credentialBlob: "", encryptedSecret: "", ciphertext: "", signature: "", releaseCertificate: "")
        #expect(Mirror(reflecting: release).children.count == 5)
    }

    @Test(arguments: awkwardJSONTexts)
    func aNonceAnswerIsTheEncodersBytes(_ text: String) throws {
        let answer = AgentMessages.ChallengeResponse(nonce: text)
        #expect(answer.sortedJSON == [UInt8](try APIResponses.encoder.encode(answer)))
        let read = try APIResponses.decoder.decode(AgentMessages.ChallengeResponse.self, from: Data(answer.sortedJSON))
        #expect(read.nonce == text)
    }

    @Test(arguments: awkwardJSONTexts)
    func aReleaseAnswerIsTheEncodersBytes(_ text: String) throws {
        let answer = AgentMessages.ReleaseResponse(
            credentialBlob: text + "1", encryptedSecret: "2" + text, ciphertext: text + "/3", signature: "+4" + text,
            releaseCertificate: "-----BEGIN CERTIFICATE-----\n" + text + "\n-----END CERTIFICATE-----\n")
        #expect(answer.sortedJSON == [UInt8](try APIResponses.encoder.encode(answer)))
        let read = try APIResponses.decoder.decode(AgentMessages.ReleaseResponse.self, from: Data(answer.sortedJSON))
        #expect(
            [read.credentialBlob, read.encryptedSecret, read.ciphertext, read.signature, read.releaseCertificate] == [
                answer.credentialBlob, answer.encryptedSecret, answer.ciphertext, answer.signature,
                answer.releaseCertificate,
            ])
    }
}
