/// Integers as the network and the TPM write them: most significant byte first.
public enum BigEndian {
    /// The bytes of `value`, most significant first, as many as its type holds.
    @inlinable
    public static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
