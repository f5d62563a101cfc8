import Testing
import TestSupport
import TSS

/// Decoding of structures a real TPM (swtpm) made, and of every malformed variant.
@Suite struct DecodingTests {
    @Test func quoteAttest() throws {
        let attest = try TPMAttest.decode(SwtpmEvidence.bytes("quote_rsa.msg"))
        #expect(attest.magic == TPMAttest.generatedMagic)
        #expect(attest.type == TPMAttest.quoteType)
        #expect(attest.extraData == Array(hexBytes(try SwtpmEvidence.nonceHex("quote_rsa"))))
        #expect(attest.qualifiedSigner == (try SwtpmEvidence.bytes("ak_rsa.qname")))
        let quote = try #require(attest.quote)
        #expect(quote.selection.description == "sha1:0,1,2,3,4,5,6,7,14,16,23+sha256:0,1,2,3,4,5,6,7,14,16,23")
        #expect(quote.pcrDigest.count == 32)
        #expect(attest.clockInfo.safe)
    }

    @Test func certifyAttestKeepsItsType() throws {
        let attest = try TPMAttest.decode(SwtpmEvidence.bytes("certify.msg"))
        #expect(attest.type == 0x8017)
        #expect(attest.quote == nil)
    }

    @Test(arguments: ["rsa", "rsapss", "ecc", "ecc384"])
    func signaturesAndKeys(name: String) throws {
        let signature = try TPMSignature.decode(SwtpmEvidence.bytes("quote_\(name).sig"))
        let key = try TPMPublic.decode(SwtpmEvidence.bytes("ak_\(name).pub"))
        #expect(key.attributes.isSuperset(of: [.restricted, .sign, .fixedTPM, .fixedParent, .sensitiveDataOrigin]))
        switch (name, signature, key.key) {
        case ("rsa", .rsassa(.sha256, let bytes), .rsa(2048, _, .rsassa, .sha256, let modulus)),
            ("rsapss", .rsapss(.sha256, let bytes), .rsa(2048, _, .rsapss, .sha256, let modulus)):
            #expect(bytes.count == 256 && modulus.count == 256)
        case ("ecc", .ecdsa(.sha256, let r, let s), .ecc(TPMPublic.curveP256, .ecdsa, .sha256, let x, let y)):
            #expect(r.count == 32 && s.count == 32 && x.count == 32 && y.count == 32)
        case ("ecc384", .ecdsa(.sha384, let r, let s), .ecc(TPMPublic.curveP384, .ecdsa, .sha384, let x, let y)):
            #expect(r.count == 48 && s.count == 48 && x.count == 48 && y.count == 48)
        default:
            Issue.record("unexpected decoding for \(name): \(signature) / \(key.key)")
        }
    }

    /// What the TPM marshaled, Warden marshals back byte for byte.
    @Test func marshalingRoundTrips() throws {
        let attestBytes = try SwtpmEvidence.bytes("quote_rsa24.msg")
        #expect(try TPMAttest.decode(attestBytes).marshaled() == attestBytes)
        for name in ["rsa", "rsapss", "ecc", "ecc384"] {
            let signatureBytes = try SwtpmEvidence.bytes("quote_\(name).sig")
            #expect(try TPMSignature.decode(signatureBytes).marshaled() == signatureBytes)
        }
    }

    /// Every proper prefix of each structure is refused with an error, never a crash.
    @Test(arguments: [
        ("quote_rsa.msg", "attest"), ("certify.msg", "attest"), ("quote_ecc384.sig", "signature"),
        ("quote_rsa.sig", "signature"), ("ak_rsa.pub", "public"), ("ak_ecc.pub", "public"), ("ek_rsa.pub", "public"),
    ])
    func everyTruncationIsRefused(file: String, kind: String) throws {
        let bytes = try SwtpmEvidence.bytes(file)
        for length in 0..<bytes.count {
            let prefix = Array(bytes.prefix(length))
            #expect(throws: TPMDecodingError.self, "\(file) cut to \(length) bytes") { try decode(prefix, as: kind) }
        }
        _ = try decode(bytes, as: kind)
        #expect(throws: TPMDecodingError.self, "\(file) with a trailing byte") { try decode(bytes + [0], as: kind) }
    }

    @Test func sizeFieldsAreChecked() throws {
        var key = try SwtpmEvidence.bytes("ak_rsa.pub")
        key[1] &+= 1  // TPM2B_PUBLIC size one larger than the area
        #expect(throws: TPMDecodingError.self) { try TPMPublic.decode(key) }
        var attest = try SwtpmEvidence.bytes("quote_rsa.msg")
        attest[6] = 0xff  // qualifiedSigner size far beyond TPM2B_NAME's capacity
        #expect(throws: TPMDecodingError.self) { try TPMAttest.decode(attest) }
    }

    @Test func tpm2bAttestUnwraps() throws {
        let attest = try SwtpmEvidence.bytes("quote_rsa.msg")
        let wrapped = [UInt8(attest.count >> 8), UInt8(attest.count & 0xff)] + attest
        #expect(try TPMAttest.unwrap(tpm2b: wrapped) == attest)
        #expect(throws: TPMDecodingError.self) { try TPMAttest.unwrap(tpm2b: Array(wrapped.dropLast())) }
    }

    @Test func marshaledSelectionAndDigests() throws {
        // TPML_PCR_SELECTION {count 2: sha256 bitmap ff0000 (PCRs 0-7), sha1 bitmap 010080 (PCRs 0, 23)}
        let selection = try PCRSelection.decode(marshaled: [
            0, 0, 0, 2, 0x00, 0x0b, 3, 0xff, 0, 0, 0x00, 0x04, 3, 0x01, 0x00, 0x80,
        ])
        #expect(selection.description == "sha256:0,1,2,3,4,5,6,7+sha1:0,23")
        #expect(throws: TPMDecodingError.self) {
            try PCRSelection.decode(marshaled: [0, 0, 0, 1, 0x00, 0x0b, 9, 0xff])
        }
        #expect(throws: TPMDecodingError.self) { try PCRSelection.decode(marshaled: [0, 0, 0, 17]) }
        let digests = try DigestList.decode([0, 0, 0, 2, 0, 2, 0xaa, 0xbb, 0, 1, 0xcc])
        #expect(digests == [[0xaa, 0xbb], [0xcc]])
        #expect(throws: TPMDecodingError.self) { try DigestList.decode([0, 0, 0, 9]) }
        #expect(throws: TPMDecodingError.self) {
            try DigestList.decode([0, 0, 0, 1, 0, 65] + [UInt8](repeating: 0, count: 65))
        }
    }

    @Test func unknownAlgorithmsDecodeButAreMarked() throws {
        var signature = try SwtpmEvidence.bytes("quote_rsa.sig")
        signature[0] = 0x00; signature[1] = 0x05  // sigAlg HMAC: a TPMT_HA follows instead
        #expect(throws: TPMDecodingError.self) { try TPMSignature.decode(signature) }
        #expect(TPMAlgorithmID(rawValue: 0x1234).description == "0x1234")
    }

    private func decode(_ bytes: [UInt8], as kind: String) throws {
        switch kind {
        case "attest": _ = try TPMAttest.decode(bytes)
        case "signature": _ = try TPMSignature.decode(bytes)
        default: _ = try TPMPublic.decode(bytes)
        }
    }
}

func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
