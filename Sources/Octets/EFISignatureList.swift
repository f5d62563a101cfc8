/// EFI signature lists (UEFI 2.10, 32.4.1): what the Secure Boot variables PK, KEK, db and
/// dbx hold, one list after another. Each list has a signature type, a header Warden never
/// writes and entries of one size: an owner GUID, then the signature (a DER certificate for
/// EFI_CERT_X509_GUID, a digest for the hash types).
public enum EFISignatureList {
    /// One entry of a list: its list's type, its owner and its signature's bytes.
    public struct Entry: Sendable, Equatable {
        public let type: EFIGUID
        public let owner: EFIGUID
        public let signature: [UInt8]

        public init(type: EFIGUID, owner: EFIGUID, signature: [UInt8]) {
            self.type = type
            self.owner = owner
            self.signature = signature
        }
    }

    /// The lists of a variable, one per certificate in `certificates` (DER), each owned by
    /// `owner`: what efitools' `cert-to-efi-sig-list` writes, concatenated.
    public static func encode(certificates: [[UInt8]], owner: EFIGUID = .warden) -> [UInt8] {
        var lists: [UInt8] = []
        for certificate in certificates {
            let signatureSize = UInt32(16 + certificate.count)
            lists += EFIGUID.certificateX509.bytes
            lists += LittleEndian.bytes(UInt32(listHeaderSize) + signatureSize)
            lists += LittleEndian.bytes(UInt32(0))
            lists += LittleEndian.bytes(signatureSize)
            lists += owner.bytes + certificate
        }
        return lists
    }

    /// Every entry of the lists in `bytes`, in order; nil when a list's sizes do not add up
    /// (an entry shorter than its owner, entries that do not fill the list, a list past the end).
    public static func decode(_ bytes: some Collection<UInt8>) -> [Entry]? {
        let bytes = Array(bytes)[...]
        var entries: [Entry] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= listHeaderSize else { return nil }
            let type = EFIGUID(bytes: bytes[offset..<(offset + 16)])
            let listSize = Int(LittleEndian.read(UInt32.self, bytes, at: offset + 16))
            let headerSize = Int(LittleEndian.read(UInt32.self, bytes, at: offset + 20))
            let signatureSize = Int(LittleEndian.read(UInt32.self, bytes, at: offset + 24))
            guard listSize <= bytes.count - offset, headerSize <= listSize - listHeaderSize, signatureSize > 16
            else { return nil }
            let entriesSize = listSize - listHeaderSize - headerSize
            guard entriesSize % signatureSize == 0 else { return nil }
            var entry = offset + listHeaderSize + headerSize
            while entry < offset + listSize {
                entries.append(
                    Entry(
                        type: type, owner: EFIGUID(bytes: bytes[entry..<(entry + 16)]),
                        signature: Array(bytes[(entry + 16)..<(entry + signatureSize)])))
                entry += signatureSize
            }
            offset += listSize
        }
        return entries
    }

    /// SignatureType, SignatureListSize, SignatureHeaderSize and SignatureSize.
    static let listHeaderSize = 28
}
