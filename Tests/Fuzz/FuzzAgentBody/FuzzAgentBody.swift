import Foundation
import TPM
import TSS
import WardenAPI

/// libFuzzer entry: a JSON body as anyone may POST it to the agent API. It decodes into
/// each of the agent's requests or is refused, never crashes; what decodes goes on as the
/// server takes it: base64 fields decoded, and the evidence's TPM structures, PCR file and
/// event log parsed (or refused) by the same code the server runs. The attestation and
/// challenge requests' plain-JSON readings read nothing `JSONDecoder` does not read the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgentBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let body = Data(bytes: data, count: size)
    let decoder = JSONDecoder()
    /// `T` as JSONDecoder reads `body`, trapping when the plain reading read it otherwise.
    func decoded<T: PlainJSONDecodable & Equatable>(_ type: T.Type) -> T? {
        let reference = try? decoder.decode(T.self, from: body)
        if let plain = T(plainJSON: UnsafeRawBufferPointer(start: data, count: size)), plain != reference {
            fatalError(
                "the plain reading disagrees with JSONDecoder: \(plain) against \(String(describing: reference))")
        }
        return reference
    }
    let attestRequest = decoded(AgentMessages.AttestRequest.self)
    if let attest = attestRequest {
        if let quote = Base64.decode(attest.attest) { _ = try? TPMAttest.decode(quote) }
        if let signature = Base64.decode(attest.signature) { _ = try? TPMSignature.decode(signature) }
        if let pcrs = Base64.decode(attest.pcrs) { _ = try? TPM2ToolsPCRFile.parse(pcrs) }
        if let log = attest.eventLog.flatMap(Base64.decode) { _ = try? EventLog.parse(log) }
        _ = Base64.decode(attest.nonce)
    }
    if let register = try? decoder.decode(AgentMessages.RegisterRequest.self, from: body) {
        if let ek = Base64.decode(register.ekPublic) { _ = try? EndorsementKey(file: ek) }
        if let ak = Base64.decode(register.akPublic) { _ = try? AttestationKey(file: ak) }
    }
    if let discover = try? decoder.decode(AgentMessages.DiscoverRequest.self, from: body),
        let certificate = discover.ekCertificate.flatMap(Base64.decode)
    {
        _ = try? EndorsementKey(file: certificate)
    }
    if let challenge = decoded(AgentMessages.ChallengeRequest.self) {
        _ = Base64.decode(challenge.proof)
    }
    if let activate = try? decoder.decode(AgentMessages.ActivateRequest.self, from: body) {
        _ = Base64.decode(activate.proof)
        _ = Base64.decode(activate.registration)
    }
    return 0
}
