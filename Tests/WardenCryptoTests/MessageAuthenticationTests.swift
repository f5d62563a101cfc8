import Testing
import WardenCrypto

@Suite struct MessageAuthenticationTests {
    /// RFC 2202 test case 1 (HMAC-SHA-1) and RFC 4231 test cases 1, 2 and 6 (a key longer
    /// than the block, hashed first), and a key exactly one block long with an empty message.
    @Test(arguments: [
        (
            DigestAlgorithm.sha1, [UInt8](repeating: 0x0b, count: 20), "Hi There",
            "b617318655057264e28bc0b6fb378c8ef146be00"
        ),
        (
            .sha256, [UInt8](repeating: 0x0b, count: 20), "Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            .sha384, Array("Jefe".utf8), "what do ya want for nothing?",
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"
        ),
        (
            .sha256, [UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            .sha512, [UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        ),
        (.sha256, (0..<64).map { UInt8($0) }, "", "3499f163f48604c0b15ac89e4e7c66f314fb3b203b8ac2f564828e62f6be9d9d"),
    ])
    func knownAnswers(digest: DigestAlgorithm, key: [UInt8], message: String, expected: String) {
        #expect(hex(HMAC.authenticate(Array(message.utf8), key: key, digest: digest)) == expected)
    }
}
