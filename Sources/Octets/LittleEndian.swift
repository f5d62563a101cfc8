/// Little-endian integers, the byte order of event logs and tpm2-tools' PCR files. Inlinable:
/// the event-log parser reads every field through them, and an unspecialised generic call
/// from another module costs ten times the read.
public enum LittleEndian {
    /// The bytes of `value`, least significant first.
    @inlinable
    public static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// The integer at `offset` from the start of `bytes`; the caller has checked the bounds.
    @inlinable
    public static func read<T: FixedWidthInteger & UnsignedInteger>(
        _: T.Type, _ bytes: ArraySlice<UInt8>, at offset: Int
    ) -> T {
        let start = bytes.startIndex + offset
        return (0..<(T.bitWidth / 8)).reduce(T.zero) { $0 | T(bytes[start + $1]) << (8 * $1) }
    }
}
