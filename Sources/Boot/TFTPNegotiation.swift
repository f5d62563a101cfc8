/// What a transfer was agreed to use: the options a request asked for, within the
/// server's limits (RFC 2347 to 2349, and 7440 for windows). Unknown or malformed
/// options are ignored, as RFC 2347 says; the acknowledgement lists what was granted.
public struct TFTPNegotiation: Sendable, Equatable {
    /// Bytes per DATA packet (RFC 1350's 512 unless `blksize` was granted).
    public let blockSize: Int
    /// DATA packets sent before waiting for an acknowledgement (1 is lockstep).
    public let windowSize: Int
    /// Seconds before an unacknowledged window is sent again.
    public let timeoutSeconds: Int
    /// The options granted, in the request's order; empty means no OACK is sent.
    public let acknowledged: [TFTPOption]

    /// The server's limits.
    public struct Limits: Sendable {
        public var maxBlockSize = 65_464
        public var maxWindowSize = 64
        public var defaultTimeoutSeconds = 2
        /// The longest timeout a client may ask for: RFC 2349 lets a server only grant the
        /// value asked or ignore the option, so a longer one is ignored (a client that never
        /// answers would otherwise hold its transfer for five retransmissions of 255 s).
        public var maxTimeoutSeconds = 5
        public init() {}
    }

    public init(requested: [TFTPOption], fileSize: Int, limits: Limits = Limits()) {
        var blockSize = 512, windowSize = 1, timeout = limits.defaultTimeoutSeconds
        var granted: [TFTPOption] = []
        for option in requested {
            guard option.value.utf8.count <= 10, let value = Int(option.value), String(value) == option.value else {
                continue
            }
            switch option.name {
            case "blksize" where (8...65_464).contains(value):
                blockSize = min(value, limits.maxBlockSize)
                granted.append(TFTPOption(name: option.name, value: String(blockSize)))
            case "windowsize" where (1...65_535).contains(value):
                windowSize = min(value, limits.maxWindowSize)
                granted.append(TFTPOption(name: option.name, value: String(windowSize)))
            case "timeout" where (1...min(255, limits.maxTimeoutSeconds)).contains(value):
                timeout = value
                granted.append(option)
            case "tsize" where value == 0:
                granted.append(TFTPOption(name: option.name, value: String(fileSize)))
            default:
                continue
            }
        }
        self.blockSize = blockSize
        self.windowSize = windowSize
        timeoutSeconds = timeout
        acknowledged = granted
    }
}
