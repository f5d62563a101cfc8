import CTSS2

/// A TPM structure could not be decoded: too short, a bad selector or size, or bytes left over.
public struct TPMDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The structure being decoded (`TPMS_ATTEST`, `TPMT_SIGNATURE`, …).
    public let structure: String
    /// What was wrong with it.
    public let reason: String

    public init(_ structure: String, _ reason: String) {
        self.structure = structure
        self.reason = reason
    }

    public var description: String { "malformed \(structure): \(reason)" }
}

/// Runs libtss2-mu unmarshal functions over one byte buffer, keeping the offset.
struct MUReader {
    let bytes: [UInt8]
    let structure: String
    private(set) var offset = 0

    init(_ bytes: [UInt8], structure: String) {
        _ = TSSLogging.quieted
        self.bytes = bytes
        self.structure = structure
    }

    /// Decodes one value with `function`; a failure names `field` and the TSS's reason.
    mutating func read<T>(
        _ field: String,
        into value: inout T,
        _ function: (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<T>?) -> TSS2_RC
    ) throws(TPMDecodingError) {
        var cursor = offset
        let rc = bytes.withUnsafeBufferPointer { function($0.baseAddress, $0.count, &cursor, &value) }
        guard rc == 0 else {
            throw TPMDecodingError(structure, "\(field) at byte \(offset): \(Self.explain(rc))")
        }
        offset = cursor
    }

    /// Fails unless every byte was consumed.
    func requireEnd() throws(TPMDecodingError) {
        guard offset == bytes.count else {
            throw TPMDecodingError(
                structure, "\(bytes.count - offset) unexpected bytes after the structure (at byte \(offset))")
        }
    }

    /// The bytes from `start` to the current offset.
    func consumed(from start: Int) -> [UInt8] { Array(bytes[start..<offset]) }

    static func explain(_ rc: TSS2_RC) -> String {
        // Tss2_RC_Decode returns a static string such as "mu:A buffer isn't large enough".
        guard let text = Tss2_RC_Decode(rc) else { return "TSS error 0x\(String(rc, radix: 16))" }
        return String(cString: text)
    }
}

/// Copies the first `size` bytes of a fixed C array (imported as a tuple).
func prefixBytes<Tuple>(of tuple: Tuple, _ size: UInt16) -> [UInt8] {
    withUnsafeBytes(of: tuple) { Array($0.prefix(Int(size))) }
}

/// Copies `bytes` into a fixed C array, returning the size written; fails if they do not fit.
func fill<Tuple>(_ tuple: inout Tuple, with bytes: [UInt8], structure: String) throws(TPMDecodingError) -> UInt16 {
    let capacity = MemoryLayout<Tuple>.size
    guard bytes.count <= capacity else {
        throw TPMDecodingError(structure, "\(bytes.count) bytes do not fit in \(capacity)")
    }
    withUnsafeMutableBytes(of: &tuple) { $0.copyBytes(from: bytes) }
    return UInt16(bytes.count)
}

/// libtss2 logs every malformed input to standard error ("ERROR:marshal:…"). Inputs here come
/// from the network, so an attacker could fill the log; Warden reports decoding errors itself.
/// An operator who sets TSS2_LOG keeps their own setting.
enum TSSLogging {
    static let quieted: Void = { setenv("TSS2_LOG", "all+NONE", 0) }()
}
