import Foundation
import Testing
import WardenAPI

/// The attestation and challenge requests' plain-JSON reading never disagrees with
/// `JSONDecoder`: what it reads, `JSONDecoder` reads to the same request, and what
/// `JSONDecoder` refuses, it does not read. What agents send, it reads.
@Suite struct AttestRequestJSONTests {
    private static func plain<T: PlainJSONDecodable>(
        _ body: [UInt8], as type: T.Type = AgentMessages.AttestRequest.self
    )
        -> T?
    {
        body.withUnsafeBytes { T(plainJSON: $0) }
    }

    private static func reference<T: PlainJSONDecodable>(
        _ body: [UInt8], as type: T.Type = AgentMessages.AttestRequest.self
    ) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(body))
    }

    /// Fails unless the plain reading of `body` as `type` is nil or `JSONDecoder`'s, and,
    /// when `reads` says, unless it read the body (true) or left it to `JSONDecoder` (false).
    private static func expectAgreement<T: PlainJSONDecodable & Equatable>(
        _ body: [UInt8], as type: T.Type = AgentMessages.AttestRequest.self, reads: Bool? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let plain = plain(body, as: type)
        if let reads {
            #expect((plain != nil) == reads, "\(String(decoding: body, as: UTF8.self))", sourceLocation: sourceLocation)
        }
        guard let plain else { return }
        #expect(
            reference(body, as: type) == plain, "read \(String(decoding: body, as: UTF8.self))",
            sourceLocation: sourceLocation)
    }

    /// Requests as agents make them: base64 with `/` and `+`, with and without the optional members.
    private static let requests: [AgentMessages.AttestRequest] = [
        nil, "", "AAEC/+8/", String(repeating: "ab+/", count: 40),
    ]
    .flatMap { eventLog in
        [nil, true, false].map { legacyBIOS in
            AgentMessages.AttestRequest(
                attestationKeyID: 42, nonce: "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=",
                attest: "/1RDR4AYACIAC+/+" + String(repeating: "A", count: 13), signature: "ABgACwAg/+/=",
                pcrs: "AQAAAAsAAwAA//8=", eventLog: eventLog, legacyBIOS: legacyBIOS)
        }
    }

    private static func encoders() -> [JSONEncoder] {
        let formattings: [JSONEncoder.OutputFormatting] = [
            [], [.withoutEscapingSlashes], [.sortedKeys], [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes],
        ]
        return formattings.map {
            let encoder = JSONEncoder()
            encoder.outputFormatting = $0
            return encoder
        }
    }

    @Test func whatAgentsSendIsReadAsJSONDecoderReadsIt() throws {
        for encoder in Self.encoders() {
            for request in Self.requests {
                let body = [UInt8](try encoder.encode(request))
                #expect(Self.plain(body) == request, "\(String(decoding: body, as: UTF8.self))")
            }
        }
        // Null stands for an absent member, as JSONDecoder reads it.
        let nulls = Array(
            #"{"attestationKeyID":-7,"nonce":"","attest":"","signature":"","pcrs":"","eventLog":null,"legacyBIOS":null}"#
                .utf8)
        #expect(Self.plain(nulls) == Self.reference(nulls))
        #expect(Self.plain(nulls)?.attestationKeyID == -7)
    }

    @Test(arguments: [
        "", " ", "{}", "[]", "null", "\"\"", "{", "}",
        #"{"attestationKeyID":1}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":""}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","extra":1}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","extra":{"a":[1,"}"]}}"#,
        #"{"attestationKeyID":1,"attestationKeyID":2,"nonce":"","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"a","nonce":"b","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","eventLog":null,"eventLog":"x"}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","legacyBIOS":true,"legacyBIOS":false}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"",}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":""} x"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":""}{}"#,
        #" { "attestationKeyID" : 1 , "nonce" : "" , "attest" : "" , "signature" : "" , "pcrs" : "" } "#,
        "{\t\"attestationKeyID\"\n:1\r,\"nonce\":\"\",\"attest\":\"\",\"signature\":\"\",\"pcrs\":\"\"}\n",
        #"{"attestationKeyID":"1","nonce":"","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":null,"nonce":"","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":1,"attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":null,"attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","eventLog":7}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","legacyBIOS":"true"}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","legacyBIOS":1}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","legacyBIOS":tru}"#,
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","legacyBIOS":truex}"#,
        #"{"attest\u0061tionKeyID":1,"nonce":"","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"a\nb","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"a\u0041","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"a\"b","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"a\\b","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"a\/b\/","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"a\","attest":"","signature":"","pcrs":""}"#,
        #"{"attestationKeyID":1,"nonce":"é","attest":"","signature":"","pcrs":""}"#,
        "{\"attestationKeyID\":1,\"nonce\":\"a\u{1}b\",\"attest\":\"\",\"signature\":\"\",\"pcrs\":\"\"}",
        "{\"attestationKeyID\":1,\"nonce\":\"a\u{7f}b\",\"attest\":\"\",\"signature\":\"\",\"pcrs\":\"\"}",
    ])
    func anyOtherBodyIsReadAsJSONDecoderReadsItOrLeftToIt(body: String) {
        Self.expectAgreement(Array(body.utf8))
    }

    @Test(arguments: [
        ("0", true), ("-0", true), ("9223372036854775807", true), ("-9223372036854775808", true), ("01", false),
        ("-01", false), ("1.0", false), ("1e2", false), ("1E2", false), ("-", false), ("+1", false), ("--1", false),
        ("0x10", false), ("9223372036854775808", false), ("-9223372036854775809", false),
        ("18446744073709551616", false), ("1 2", false),
    ])
    func keyIDsAreIntegersAsJSONDecoderReadsThem(number: String, reads: Bool) {
        Self.expectAgreement(
            Array(#"{"attestationKeyID":\#(number),"nonce":"","attest":"","signature":"","pcrs":""}"#.utf8),
            reads: reads)
    }

    /// What any JSON writer may make of an agent's request is read by hand, not left to JSONDecoder.
    @Test(arguments: [
        #" { "attestationKeyID" : 1 , "nonce" : "" , "attest" : "" , "signature" : "" , "pcrs" : "" } "#,
        "{\t\"attestationKeyID\"\n:1\r,\"nonce\":\"\",\"attest\":\"\",\"signature\":\"\",\"pcrs\":\"\"}\n",
        #"{"pcrs":"","signature":"","attest":"","nonce":"","attestationKeyID":1}"#,
        #"{"attestationKeyID":1,"nonce":"a\/b\/","attest":"\/","signature":"","pcrs":""}"#,
        "{\"attestationKeyID\":1,\"nonce\":\"a\u{7f}b\",\"attest\":\"\",\"signature\":\"\",\"pcrs\":\"\"}",
        #"{"attestationKeyID":1,"nonce":"","attest":"","signature":"","pcrs":"","eventLog":null,"legacyBIOS":false}"#,
    ])
    func plainBodiesAreReadByHand(body: String) {
        Self.expectAgreement(Array(body.utf8), reads: true)
    }

    /// Every body one byte away from `body` (cut short there, or that byte replaced by one
    /// JSON gives a meaning, or by one it forbids) is read as JSONDecoder reads it, or left to it.
    private static func expectAgreementOneByteAway<T: PlainJSONDecodable & Equatable>(
        from body: [UInt8], as type: T.Type
    ) {
        let replacements = Array(#""\,}{:[ 0n/"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        for index in body.indices {
            expectAgreement(Array(body[..<index]), as: type)
            for replacement in replacements where replacement != body[index] {
                var changed = body
                changed[index] = replacement
                expectAgreement(changed, as: type)
            }
        }
    }

    @Test func everyBodyOneByteFromAnAgentsAgrees() throws {
        Self.expectAgreementOneByteAway(
            from: [UInt8](try JSONEncoder().encode(Self.requests.last)), as: AgentMessages.AttestRequest.self)
        // Unaligned and long: the eight-byte scan stops at a byte beyond ASCII wherever it is.
        for offset in 0..<16 {
            let text = String(repeating: "A", count: 24 + offset) + "é" + String(repeating: "B", count: 9)
            let long = #"{"attestationKeyID":1,"nonce":"\#(text)","attest":"","signature":"","pcrs":""}"#
            #expect(Self.plain(Array(long.utf8)) == nil)
        }
    }

    /// A challenge request as agents send it is read by hand, and any other body as
    /// JSONDecoder reads it, or left to it.
    @Test func challengeRequestsAgree() throws {
        let challenge = AgentMessages.ChallengeRequest(attestationKeyID: 42, proof: "q83vASNFZ4mr/+8BI0VniavN7wE=")
        for encoder in Self.encoders() {
            let body = [UInt8](try encoder.encode(challenge))
            #expect(Self.plain(body, as: AgentMessages.ChallengeRequest.self) == challenge)
        }
        let others = [
            "{}", #"{"attestationKeyID":1}"#, #"{"proof":""}"#, #"{"attestationKeyID":1,"proof":"","extra":1}"#,
            #"{"attestationKeyID":1,"attestationKeyID":2,"proof":""}"#,
            #"{"attestationKeyID":1,"proof":"a","proof":"b"}"#,
            #"{"attestationKeyID":"1","proof":""}"#, #"{"attestationKeyID":1,"proof":null}"#,
            #"{"proof":"","attestationKeyID":-3}"#, #"{"attestationKeyID":1,"proof":"a\/b"}"#,
        ]
        for body in others { Self.expectAgreement(Array(body.utf8), as: AgentMessages.ChallengeRequest.self) }
        Self.expectAgreementOneByteAway(
            from: [UInt8](try JSONEncoder().encode(challenge)), as: AgentMessages.ChallengeRequest.self)
    }
}
