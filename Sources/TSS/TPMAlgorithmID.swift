/// A TPM_ALG_ID: hash, signature, asymmetric and symmetric algorithm identifiers
/// (TCG TPM 2.0 Part 2, Table 9, and the Algorithm Registry).
public struct TPMAlgorithmID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let rsa = TPMAlgorithmID(rawValue: 0x0001)
    public static let sha1 = TPMAlgorithmID(rawValue: 0x0004)
    public static let hmac = TPMAlgorithmID(rawValue: 0x0005)
    public static let aes = TPMAlgorithmID(rawValue: 0x0006)
    public static let keyedHash = TPMAlgorithmID(rawValue: 0x0008)
    public static let sha256 = TPMAlgorithmID(rawValue: 0x000B)
    public static let sha384 = TPMAlgorithmID(rawValue: 0x000C)
    public static let sha512 = TPMAlgorithmID(rawValue: 0x000D)
    public static let null = TPMAlgorithmID(rawValue: 0x0010)
    public static let sm3_256 = TPMAlgorithmID(rawValue: 0x0012)
    public static let rsassa = TPMAlgorithmID(rawValue: 0x0014)
    public static let rsaes = TPMAlgorithmID(rawValue: 0x0015)
    public static let rsapss = TPMAlgorithmID(rawValue: 0x0016)
    public static let oaep = TPMAlgorithmID(rawValue: 0x0017)
    public static let ecdsa = TPMAlgorithmID(rawValue: 0x0018)
    public static let ecdh = TPMAlgorithmID(rawValue: 0x0019)
    public static let ecdaa = TPMAlgorithmID(rawValue: 0x001A)
    public static let sm2 = TPMAlgorithmID(rawValue: 0x001B)
    public static let ecschnorr = TPMAlgorithmID(rawValue: 0x001C)
    public static let ecc = TPMAlgorithmID(rawValue: 0x0023)
    public static let symCipher = TPMAlgorithmID(rawValue: 0x0025)
    public static let sha3_256 = TPMAlgorithmID(rawValue: 0x0027)
    public static let sha3_384 = TPMAlgorithmID(rawValue: 0x0028)
    public static let sha3_512 = TPMAlgorithmID(rawValue: 0x0029)
    public static let cfb = TPMAlgorithmID(rawValue: 0x0043)

    private static let names: [UInt16: String] = [
        0x0001: "rsa", 0x0004: "sha1", 0x0005: "hmac", 0x0006: "aes", 0x0008: "keyedhash",
        0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512", 0x0010: "null", 0x0012: "sm3_256",
        0x0014: "rsassa", 0x0015: "rsaes", 0x0016: "rsapss", 0x0017: "oaep", 0x0018: "ecdsa",
        0x0019: "ecdh", 0x001A: "ecdaa", 0x001B: "sm2", 0x001C: "ecschnorr", 0x0023: "ecc",
        0x0025: "symcipher", 0x0027: "sha3_256", 0x0028: "sha3_384", 0x0029: "sha3_512", 0x0043: "cfb",
    ]

    /// The algorithm's name as tpm2-tools prints it, or its hex value.
    public var description: String {
        Self.names[rawValue] ?? "0x" + String(rawValue, radix: 16, uppercase: false).leftPadded(to: 4)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
