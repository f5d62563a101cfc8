import Foundation
import Octets
import WardenCrypto

/// A nonce for a quote, made rather than stored: when it was issued (milliseconds since
/// 1970, 6 bytes), the machine it was issued to (8 bytes), 4 random bytes, then the first
/// 14 bytes of the HMAC-SHA256 of those 18 under a key derived from the key-encryption key
/// (every integer big-endian; 32 bytes in all). Only a store holding that key makes one,
/// nobody without it can foretell one, and every appliance sharing it checks one with no
/// look-up; what is written is its use alone, once, kept until ``clockSkew`` after it expired.
struct AttestationNonce {
    /// What the nonces' key is derived for.
    static let purpose = "attestation nonce v1"
    /// How far appliances' clocks may differ: a nonce issued up to this far ahead of an
    /// appliance's clock is taken, and a nonce's use is kept this long after it expired.
    static let clockSkew: TimeInterval = 60
    private static let timeSize = 6, machineSize = 8, randomSize = 4
    private static let fieldsSize = timeSize + machineSize + randomSize
    private static let tagSize = EnrolmentStore.nonceSize - fieldsSize

    let machineID: Int64
    /// When it was issued: milliseconds since 1970.
    private let milliseconds: UInt64
    private let random: [UInt8]

    /// A fresh nonce for machine `machineID`, issued at `now`.
    init(machineID: Int64, now: Date) {
        self.init(
            machineID: machineID, milliseconds: UInt64(max(0, now.timeIntervalSince1970 * 1_000)),
            random: SecureRandom.bytes(Self.randomSize))
    }

    private init(machineID: Int64, milliseconds: UInt64, random: [UInt8]) {
        self.machineID = machineID
        self.milliseconds = milliseconds
        self.random = random
    }

    /// When it was issued, to the millisecond.
    var issuedAt: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1_000) }

    /// When it expires: ``EnrolmentStore/nonceLifetime`` after it was issued.
    var expiresAt: Date { issuedAt.addingTimeInterval(EnrolmentStore.nonceLifetime) }

    private var fields: [UInt8] {
        Array(BigEndian.bytes(milliseconds).dropFirst(8 - Self.timeSize)) + BigEndian.bytes(machineID) + random
    }

    /// The nonce as the agent gets it, tagged under `key`.
    func bytes(key: [UInt8]) -> [UInt8] {
        let fields = self.fields
        return fields + Self.tag(fields, key: key)
    }

    /// Reads a nonce whose tag `key` made; nil when it is not one (its size, or its tag).
    init?(_ bytes: [UInt8], key: [UInt8]) {
        guard bytes.count == EnrolmentStore.nonceSize else { return nil }
        let fields = Array(bytes.prefix(Self.fieldsSize))
        guard ConstantTime.equals(Array(bytes.suffix(Self.tagSize)), Self.tag(fields, key: key)) else { return nil }
        let milliseconds = BigEndian.read(UInt64.self, ([0, 0] + fields.prefix(Self.timeSize))[...])
        let machine = BigEndian.read(UInt64.self, fields[...], at: Self.timeSize)
        self.init(
            machineID: Int64(bitPattern: machine), milliseconds: milliseconds,
            random: Array(fields.suffix(Self.randomSize)))
    }

    private static func tag(_ fields: [UInt8], key: [UInt8]) -> [UInt8] {
        Array(HMAC.authenticate(fields, key: key, digest: .sha256).prefix(tagSize))
    }

    /// Reads nonce `bytes`, presented by machine `machineID` at `now`; throws why it is
    /// refused, whatever its use, unless `key` made it for that machine, at most
    /// ``clockSkew`` after `now`, and it has not expired.
    init(accepting bytes: [UInt8], key: [UInt8], machineID: Int64, now: Date) throws(StoreError) {
        guard let nonce = AttestationNonce(bytes, key: key), nonce.issuedAt <= now.addingTimeInterval(Self.clockSkew)
        else { throw .nonce("unknown") }
        guard nonce.machineID == machineID else { throw .nonce("issued to another machine") }
        guard nonce.expiresAt >= now else { throw .nonce("expired") }
        self = nonce
    }
}
