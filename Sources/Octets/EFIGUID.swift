/// A UEFI GUID as firmware stores it: the first three fields little-endian, the last eight
/// bytes as written. Its description is the registry form (lower-case hex).
public struct EFIGUID: Sendable, Equatable, CustomStringConvertible {
    /// The 16 bytes in firmware order.
    public let bytes: [UInt8]

    /// The GUID whose 16 bytes, in firmware order, are `bytes` (a caller that parsed a
    /// structure passes exactly 16).
    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16, "an EFI GUID is 16 bytes, not \(bytes.count)")
        self.bytes = Array(bytes)
    }

    /// The GUID written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; nil for other text.
    public init?(_ text: String) {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
        var fields: [[UInt8]] = []
        for group in groups {
            var field: [UInt8] = []
            var characters = group.makeIterator()
            while let high = characters.next(), let low = characters.next() {
                // UInt8(_:radix:) alone would take a sign: "+f".
                guard high.isHexDigit, low.isHexDigit, let byte = UInt8(String([high, low]), radix: 16) else {
                    return nil
                }
                field.append(byte)
            }
            fields.append(field)
        }
        bytes = fields[0].reversed() + fields[1].reversed() + fields[2].reversed() + fields[3] + fields[4]
    }

    /// The registry form, lowercase: the first three fields are little-endian in firmware
    /// order. Written byte by byte into one string: a verifier names the vendor of every UEFI
    /// variable in a log, and formatting each byte as a string of its own cost a twentieth of
    /// a whole verification.
    public var description: String {
        String(unsafeUninitializedCapacity: 36) { text in
            var written = 0
            for (position, index) in Self.registryOrder.enumerated() {
                if Self.fieldStarts.contains(position) {
                    text[written] = UInt8(ascii: "-")
                    written += 1
                }
                text[written] = Self.hexDigits[Int(bytes[index] >> 4)]
                text[written + 1] = Self.hexDigits[Int(bytes[index] & 0x0f)]
                written += 2
            }
            return written
        }
    }

    /// The firmware-order byte written at each position of the registry form.
    private static let registryOrder = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
    /// The positions in ``registryOrder`` that begin a field after the first.
    private static let fieldStarts: Set = [4, 6, 8, 10]
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// EFI_GLOBAL_VARIABLE: the vendor of PK and KEK.
    public static let globalVariable = EFIGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")!
    /// EFI_IMAGE_SECURITY_DATABASE_GUID: the vendor of db and dbx.
    public static let imageSecurityDatabase = EFIGUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")!
    /// EFI_CERT_X509_GUID: a signature list of X.509 certificates.
    public static let certificateX509 = EFIGUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")!
    /// EFI_CERT_TYPE_PKCS7_GUID: an authentication header's PKCS#7 signature.
    public static let certificateTypePKCS7 = EFIGUID("4aafd29d-68df-49ee-8aa9-347d375665a7")!
    /// The owner Warden names in the signature lists it writes.
    public static let warden = EFIGUID("57617264-656e-4b65-7973-000000000001")!
}
