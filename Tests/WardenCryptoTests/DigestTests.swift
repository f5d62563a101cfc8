import Testing
import WardenCrypto

@Suite struct DigestTests {
    /// FIPS 180 examples for "abc".
    @Test(arguments: [
        (DigestAlgorithm.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
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
