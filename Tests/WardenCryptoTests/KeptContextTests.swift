import Dispatch
import Synchronization
import Testing
import WardenCrypto

/// A key keeps the operation contexts it prepared and uses them again: a kept context must
/// answer as a fresh one would, whatever came before it (a failed check, another label,
/// another thread).
@Suite struct KeptContextTests {
    @Test(arguments: SignatureTests.schemes)
    func keptContextsAnswerAsFreshOnesAfterAFailure(scheme: SignatureScheme) throws {
        let key: SigningKey =
            switch scheme {
            case .ecdsa(let d): try .ec(d == .sha384 ? .p384 : .p256)
            default: try .rsa(bits: 2048)
            }
        let publicKey = try key.publicKey
        var signatures: Set<[UInt8]> = []
        for round in 0..<4 {
            let digest = scheme.digest.hash(Array("quote \(round)".utf8))
            let signature = try key.sign(digest: digest, scheme: scheme)
            signatures.insert(signature)
            var forged = signature
            forged[forged.count / 2] ^= 0x01
            #expect(publicKey.isValidSignature(signature, digest: digest, scheme: scheme))
            #expect(!publicKey.isValidSignature(forged, digest: digest, scheme: scheme))
            #expect(!publicKey.isValidSignature([], digest: digest, scheme: scheme))
            #expect(publicKey.isValidSignature(signature, digest: digest, scheme: scheme), "round \(round)")
        }
        #expect(signatures.count == 4)
    }

    @Test func oaepContextsAreKeptApartByLabelAndDigest() throws {
        let key = try SigningKey.rsa(bits: 2048)
        let publicKey = try key.publicKey
        let identity = Array("IDENTITY\0".utf8)
        let duplicate = Array("DUPLICATE\0".utf8)
        for round in 0..<3 {
            let seed = DigestAlgorithm.sha256.hash([UInt8(round)])
            let sealed = try publicKey.encryptOAEP(seed, digest: .sha256, label: identity)
            let other = try publicKey.encryptOAEP(seed, digest: .sha256, label: duplicate)
            #expect(throws: OpenSSLError.self) { try key.decryptOAEP(other, digest: .sha256, label: identity) }
            #expect(throws: OpenSSLError.self) { try key.decryptOAEP(sealed, digest: .sha1, label: identity) }
            var corrupted = sealed
            corrupted[corrupted.count / 2] ^= 0x01
            #expect(throws: OpenSSLError.self) { try key.decryptOAEP(corrupted, digest: .sha256, label: identity) }
            #expect(try key.decryptOAEP(sealed, digest: .sha256, label: identity) == seed)
            #expect(try key.decryptOAEP(other, digest: .sha256, label: duplicate) == seed)
        }
    }

    @Test func oneKeySignsOnManyThreadsAtOnce() throws {
        let key = try SigningKey.ec(.p256)
        let publicKey = try key.publicKey
        let threads = 8, each = 25
        let verified = Mutex(Array(repeating: 0, count: threads))
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for round in 0..<each {
                let digest = DigestAlgorithm.sha256.hash(Array("thread \(thread) round \(round)".utf8))
                guard let signature = try? key.sign(digest: digest, scheme: .ecdsa(.sha256)) else { continue }
                if publicKey.isValidSignature(signature, digest: digest, scheme: .ecdsa(.sha256)) {
                    verified.withLock { $0[thread] += 1 }
                }
            }
        }
        #expect(verified.withLock { $0 } == Array(repeating: each, count: threads))
    }
}
