import Foundation
import Testing
import WardenCrypto

@Suite struct SignatureTests {
    static let schemes: [SignatureScheme] = [
        .rsaPKCS1v15(.sha256), .rsaPSS(.sha256), .rsaPKCS1v15(.sha384), .ecdsa(.sha256), .ecdsa(.sha384),
    ]

    @Test(arguments: schemes)
    func signAndVerify(scheme: SignatureScheme) throws {
        let key: SigningKey =
            switch scheme {
            case .ecdsa(let d): try .ec(d == .sha384 ? .p384 : .p256)
            default: try .rsa(bits: 2048)
            }
        let digest = scheme.digest.hash(Array("quote".utf8))
        let signature = try key.sign(digest: digest, scheme: scheme)
        let publicKey = try key.publicKey
        #expect(publicKey.isValidSignature(signature, digest: digest, scheme: scheme))
        var flipped = signature
        flipped[flipped.count / 2] ^= 0x01
        #expect(!publicKey.isValidSignature(flipped, digest: digest, scheme: scheme))
        #expect(!publicKey.isValidSignature(signature, digest: scheme.digest.hash(Array("other".utf8)), scheme: scheme))
    }

    @Test func schemeMustFitKey() throws {
        let rsa = try SigningKey.rsa(bits: 2048)
        let digest = DigestAlgorithm.sha256.hash(Array("x".utf8))
        let signature = try rsa.sign(digest: digest, scheme: .rsaPKCS1v15(.sha256))
        #expect(!(try rsa.publicKey).isValidSignature(signature, digest: digest, scheme: .ecdsa(.sha256)))
        #expect(throws: OpenSSLError.self) { try rsa.sign(digest: digest, scheme: .ecdsa(.sha256)) }
    }

    @Test func rsaComponentsRoundTrip() throws {
        let key = try SigningKey.rsa(bits: 2048).publicKey
        let (modulus, exponent) = try #require(key.rsaComponents)
        #expect(modulus.count == 256 && exponent == [1, 0, 1])
        let rebuilt = try PublicKey(rsaModulus: modulus, exponent: exponent)
        #expect(rebuilt.der == key.der)
        #expect(rebuilt.kind == .rsa(bits: 2048))
    }

    @Test(arguments: EllipticCurve.allCases)
    func ecPointRoundTripAndCurveCheck(curve: EllipticCurve) throws {
        let key = try SigningKey.ec(curve).publicKey
        let (x, y) = try #require(key.ecCoordinates)
        #expect(try PublicKey(curve: curve, x: x, y: y).der == key.der)
        var offCurve = y
        offCurve[offCurve.count - 1] ^= 0x01
        #expect(throws: OpenSSLError.self) { try PublicKey(curve: curve, x: x, y: offCurve) }
    }

    @Test func pemAndDER() throws {
        let key = try SigningKey.ec(.p256).publicKey
        let base64 = Data(key.der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        let pem = "-----BEGIN PUBLIC KEY-----\n\(base64)\n-----END PUBLIC KEY-----\n"
        #expect(try PublicKey(pem: Array(pem.utf8)).der == key.der)
        #expect(throws: OpenSSLError.self) {
            try PublicKey(pem: Array("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".utf8))
        }
        #expect(throws: OpenSSLError.self) { try PublicKey(der: Array(key.der.dropLast())) }
    }

    @Test func ecdsaEncodingRoundTrip() throws {
        let r = [UInt8](repeating: 0x11, count: 32), s = [UInt8](repeating: 0x22, count: 32)
        let der = try #require(ECDSASignature.der(r: r, s: s))
        let parts = try #require(ECDSASignature.components(der: der, width: 32))
        #expect(parts.r == r && parts.s == s)
        #expect(ECDSASignature.components(der: Array(der.dropLast()), width: 32) == nil)
    }
}
