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
                guard let byte = UInt8(String([high, low]), radix: 16) else { return nil }
                field.append(byte)
            }
            fields.append(field)
        }
        bytes = fields[0].reversed() + fields[1].reversed() + fields[2].reversed() + fields[3] + fields[4]
    }

    public var description: String {
        func hex(_ part: some Sequence<UInt8>) -> String {
            part.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
                .joined()
        }
        return [
            hex(bytes[0..<4].reversed()), hex(bytes[4..<6].reversed()), hex(bytes[6..<8].reversed()),
            hex(bytes[8..<10]), hex(bytes[10..<16]),
        ].joined(separator: "-")
    }

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
