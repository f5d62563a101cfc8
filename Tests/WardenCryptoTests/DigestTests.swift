import Testing
import WardenCrypto

@Suite struct DigestTests {
    /// FIPS 180 examples for "abc".
    @Test(arguments: [
        (DigestAlgorithm.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        (
            .sha512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
    ])
    func knownAnswers(algorithm: DigestAlgorithm, expected: String) {
        #expect(hex(algorithm.hash(Array("abc".utf8))) == expected)
    }

    @Test func hasherResetsAfterFinalize() {
        var hasher = Hasher(.sha256)
        hasher.update(Array("ab".utf8))
        hasher.update(Array("c".utf8)[...])
        let first = hasher.finalize()
        hasher.update(Array("abc".utf8))
        #expect(hasher.finalize() == first)
        #expect(first == DigestAlgorithm.sha256.hash(Array("abc".utf8)))
    }

    /// FIPS 180's million "a"s, fed in pieces that straddle every block boundary, twice over
    /// one hasher: each digest is the one `openssl dgst` gives.
    @Test(arguments: [
        (DigestAlgorithm.sha1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
        (.sha256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        (.sha384, "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985"),
        (
            .sha512,
            "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"
        ),
    ])
    func aMillionAsInUnevenPieces(algorithm: DigestAlgorithm, expected: String) {
        let pieces = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var hasher = Hasher(algorithm)
        for _ in 0..<2 {
            var start = 0
            var length = 1
            while start < pieces.count {
                let end = min(start + length, pieces.count)
                hasher.update(pieces[start..<end])
                start = end
                length = length % 251 + 7
            }
            #expect(hex(hasher.finalize()) == expected)
        }
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([], []))
    }

    @Test func randomBytesDiffer() {
        let a = SecureRandom.bytes(32), b = SecureRandom.bytes(32)
        #expect(a.count == 32 && a != b)
    }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
