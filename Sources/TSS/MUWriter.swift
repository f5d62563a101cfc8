import CTSS2

/// Runs libtss2-mu marshal functions into a growing byte buffer.
struct MUWriter {
    let structure: String
    private(set) var bytes: [UInt8] = []
    private static let chunk = 4096

    init(structure: String) { self.structure = structure }

    /// Marshals a structure passed by pointer.
    mutating func write<T>(
        _ value: inout T,
        _ function: (UnsafePointer<T>?, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?) -> TSS2_RC
    ) throws(TPMDecodingError) {
        var scratch = [UInt8](repeating: 0, count: Self.chunk)
        var length = 0
        let rc = withUnsafePointer(to: &value) { function($0, &scratch, scratch.count, &length) }
        guard rc == 0 else { throw TPMDecodingError(structure, "cannot marshal: \(MUReader.explain(rc))") }
        bytes += scratch.prefix(length)
    }

    /// Marshals a scalar passed by value.
    mutating func write<T>(
        _ value: T,
        _ function: (T, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?) -> TSS2_RC
    ) throws(TPMDecodingError) {
        var scratch = [UInt8](repeating: 0, count: 16)
        var length = 0
        let rc = function(value, &scratch, scratch.count, &length)
        guard rc == 0 else { throw TPMDecodingError(structure, "cannot marshal: \(MUReader.explain(rc))") }
        bytes += scratch.prefix(length)
    }
}
