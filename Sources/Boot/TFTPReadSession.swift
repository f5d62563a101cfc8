/// One read transfer as a client sees it, without a socket: it takes the packets that
/// arrive and says what to acknowledge, with `blksize` and `windowsize` (falling back to
/// what the server grants), acknowledging the last block it holds in order as RFC 7440
/// says. ``TFTPClient`` drives one over a blocking socket, ``TFTPConcurrentFetch`` many
/// over poll(2).
public struct TFTPReadSession: Sendable {
    /// What a fetch brought back.
    public struct Fetch: Sendable {
        public let bytes: [UInt8]
        /// DATA packets that arrived for a block already seen (retransmissions).
        public let duplicates: Int
    }

    /// What to do after a packet: an acknowledgement to send to ``transferPort``, and the
    /// fetch once it is complete.
    public struct Step: Sendable {
        public var acknowledgement: [UInt8]?
        public var fetched: Fetch?
    }

    /// The read request that starts the transfer.
    public let request: [UInt8]
    /// The server's port for this transfer (its transfer ID), in network byte order; 0
    /// until the server has answered.
    public private(set) var transferPort: UInt16 = 0
    /// Silences in a row after which the fetch fails.
    public static let maxSilences = 5

    private var granted = (blockSize: 512, windowSize: 1)
    private var file: [UInt8] = []
    private var expected = 1
    /// The block the last acknowledgement named (0: the option acknowledgement's).
    private var acknowledgedBlock = 0
    private var lastAcknowledgement: [UInt8]?
    private let dropOnce: Set<Int>
    private var dropped = Set<Int>(), seen = Set<Int>()
    private var duplicates = 0, silences = 0

    /// A read of `name`; `dropOnce` lists blocks to ignore the first time they arrive (to
    /// exercise a server's recovery).
    public init(_ name: String, blockSize: Int? = nil, windowSize: Int? = nil, dropOnce: Set<Int> = []) {
        var options: [TFTPOption] = []
        if let blockSize { options.append(TFTPOption(name: "blksize", value: String(blockSize))) }
        if let windowSize { options.append(TFTPOption(name: "windowsize", value: String(windowSize))) }
        request = TFTPPacket.readRequest(file: name, mode: "octet", options: options).bytes
        self.dropOnce = dropOnce
    }

    /// Takes `packet`, which came from `port`. The first answer fixes the transfer's port;
    /// packets from any other are ignored (an answer to a repeated request, or a stranger).
    public mutating func receive(_ packet: TFTPPacket, from port: UInt16) throws(TFTPClient.Failure) -> Step {
        if transferPort == 0 { transferPort = port }
        guard port == transferPort else { return Step() }
        silences = 0
        switch packet {
        case .optionAcknowledgement(let acknowledged):
            for option in acknowledged {
                if option.name == "blksize", let value = Int(option.value) { granted.blockSize = value }
                if option.name == "windowsize", let value = Int(option.value) { granted.windowSize = value }
            }
            return Step(acknowledgement: acknowledge(0))
        case .data(let wire, let payload):
            // The block number unwrapped: the one nearest to the block expected.
            let block = expected + Int(Int16(bitPattern: wire &- UInt16(truncatingIfNeeded: expected)))
            if !seen.insert(block).inserted { duplicates += 1 }
            if dropOnce.contains(block), dropped.insert(block).inserted { return Step() }
            // A gap (a block was lost) or a block again (our acknowledgement was lost):
            // acknowledge the last block held in order; the server goes on from there.
            guard block == expected else { return Step(acknowledgement: acknowledge(expected - 1)) }
            file += payload
            expected += 1
            let last = payload.count < granted.blockSize
            let acknowledgement = last || block - acknowledgedBlock >= granted.windowSize ? acknowledge(block) : nil
            return Step(
                acknowledgement: acknowledgement, fetched: last ? Fetch(bytes: file, duplicates: duplicates) : nil)
        case .error(let code, let message):
            throw TFTPClient.Failure(description: "error \(code.rawValue): \(message)")
        default:
            throw TFTPClient.Failure(description: "unexpected \(packet)")
        }
    }

    /// After a timeout: what to send again — the last acknowledgement, or the request while
    /// the server has not answered (to ``destination(serverPort:)``); fails after
    /// ``maxSilences`` in a row.
    public mutating func silence() throws(TFTPClient.Failure) -> [UInt8] {
        silences += 1
        guard silences <= Self.maxSilences else {
            throw TFTPClient.Failure(description: "no answer after \(Self.maxSilences) timeouts")
        }
        return lastAcknowledgement ?? request
    }

    /// Where the next packet goes: the transfer's port, or the server's (`serverPort`)
    /// until it has answered.
    public func destination(serverPort: UInt16) -> UInt16 { transferPort == 0 ? serverPort : transferPort }

    private mutating func acknowledge(_ block: Int) -> [UInt8] {
        acknowledgedBlock = block
        let bytes = TFTPPacket.acknowledgement(block: UInt16(truncatingIfNeeded: block)).bytes
        lastAcknowledgement = bytes
        return bytes
    }
}
