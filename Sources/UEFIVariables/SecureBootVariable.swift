import Octets
import WardenCrypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Secure Boot key variables and how an update of one is written: an EFI signature list
/// of X.509 certificates, behind a time-based authentication header (UEFI 2.10, 8.2.2) whose
/// PKCS#7 signature covers the variable's name, vendor, attributes, time and data. Written
/// byte for byte as efitools' `cert-to-efi-sig-list` and `sign-efi-sig-list` write them.
public enum SecureBootVariable: String, Sendable, CaseIterable {
    case pk = "PK"
    case kek = "KEK"
    case db

    /// The vendor GUID the variable is stored under.
    public var vendor: EFIGUID {
        switch self {
        case .pk, .kek: .globalVariable
        case .db: .imageSecurityDatabase
        }
    }

    /// Non-volatile, boot-service and runtime access, time-based authenticated writes.
    public static let attributes: UInt32 = 0x0000_0027

    /// EFI_TIME of `date` in UTC, to the second, as authenticated writes carry it (years
    /// held to the field's 0…65535).
    public static func time(_ date: Date) -> [UInt8] {
        let parts = UTCTimestamp.parts(date)
        return LittleEndian.bytes(UInt16(clamping: parts.year))
            + [UInt8(parts.month), UInt8(parts.day), UInt8(parts.hour), UInt8(parts.minute), UInt8(parts.second)]
            + [UInt8](repeating: 0, count: 9)
    }

    /// What the signer of an update of this variable to `data` at `time` signs.
    public func toBeSigned(_ data: [UInt8], time: [UInt8]) -> [UInt8] {
        rawValue.utf16.flatMap { LittleEndian.bytes($0) } + vendor.bytes + LittleEndian.bytes(Self.attributes) + time
            + data
    }

    /// The update of this variable to `data` at `time`, with `signature`: a detached PKCS#7
    /// (DER ContentInfo or bare SignedData) over ``toBeSigned(_:time:)``.
    public func update(_ data: [UInt8], time: [UInt8], signature: [UInt8]) throws(UEFIVariableError) -> [UInt8] {
        let signedData = try Self.signedData(of: signature)
        return time + LittleEndian.bytes(UInt32(8 + 16 + signedData.count)) + LittleEndian.bytes(UInt16(0x0200))
            + LittleEndian.bytes(UInt16(0x0EF1)) + EFIGUID.certificateTypePKCS7.bytes + signedData + data
    }

    /// The update of this variable to `data` at `time`, signed by `signer`.
    public func update(_ data: [UInt8], time: [UInt8], signedBy signer: DetachedSigner) throws(UEFIVariableError)
        -> [UInt8]
    {
        let signature: [UInt8]
        do { signature = try signer.signPKCS7(toBeSigned(data, time: time)[...]) } catch {
            throw .signing("\(rawValue): \(error)")
        }
        return try update(data, time: time, signature: signature)
    }

    /// The SignedData a firmware reads: the content of a ContentInfo, or `der` itself when
    /// it is a SignedData already.
    static func signedData(of der: [UInt8]) throws(UEFIVariableError) -> [UInt8] {
        // ContentInfo ::= SEQUENCE { contentType OID (signedData), content [0] EXPLICIT SignedData }
        let signedDataOID: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]
        guard let outer = DERElement(der, at: 0), outer.tag == 0x30, outer.end == der.count else {
            throw .malformedSignature
        }
        guard der[outer.contentStart...].starts(with: signedDataOID) else {
            // A bare SignedData begins with its version, an INTEGER.
            guard outer.contentStart < der.count, der[outer.contentStart] == 0x02 else { throw .malformedSignature }
            return der
        }
        let wrapperStart = outer.contentStart + signedDataOID.count
        guard let wrapper = DERElement(der, at: wrapperStart), wrapper.tag == 0xA0,
            let inner = DERElement(der, at: wrapper.contentStart), inner.tag == 0x30, inner.end == wrapper.end
        else { throw .malformedSignature }
        return Array(der[wrapper.contentStart..<inner.end])
    }
}

/// One DER element's tag and where its content lies.
struct DERElement {
    let tag: UInt8
    let contentStart: Int
    let end: Int

    init?(_ der: [UInt8], at start: Int) {
        guard start + 2 <= der.count else { return nil }
        tag = der[start]
        let first = Int(der[start + 1])
        var length = first
        var headerEnd = start + 2
        if first & 0x80 != 0 {
            let count = first & 0x7F
            guard (1...4).contains(count), headerEnd + count <= der.count else { return nil }
            length = der[headerEnd..<headerEnd + count].reduce(0) { $0 << 8 | Int($1) }
            headerEnd += count
        }
        guard headerEnd + length <= der.count else { return nil }
        contentStart = headerEnd
        end = headerEnd + length
    }
}

/// Why a variable update was not written.
public enum UEFIVariableError: Error, Equatable, CustomStringConvertible {
    case malformedSignature
    case signing(String)

    public var description: String {
        switch self {
        case .malformedSignature: "the signature is not a DER PKCS#7 SignedData"
        case .signing(let why): "signing the update failed: \(why)"
        }
    }
}
