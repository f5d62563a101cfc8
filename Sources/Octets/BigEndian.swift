/// Integers as the network and the TPM write them: most significant byte first. Inlinable,
/// like ``LittleEndian``: parsers read every field through them.
public enum BigEndian {
    /// The bytes of `value`, most significant first, as many as its type holds.
    @inlinable
    public static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// Appends the bytes of `value`, most significant first, to `bytes`, with no array of its own.
    @inlinable
    public static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// The integer at `offset` from the start of `bytes`; the caller has checked the bounds.
    @inlinable
    public static func read<T: FixedWidthInteger & UnsignedInteger>(
        _: T.Type, _ bytes: ArraySlice<UInt8>, at offset: Int = 0
    ) -> T {
        let start = bytes.startIndex + offset
        return (0..<(T.bitWidth / 8)).reduce(T.zero) { $0 << 8 | T(bytes[start + $1]) }
    }
}
