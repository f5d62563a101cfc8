/// One read transfer as a state machine, without sockets, clocks or the file's bytes: it
/// is told what arrived and when the timer fired, and answers with the packets to send
/// (DATA packets by block: ``TFTPDataPackets`` holds them, built once per file and block
/// size and shared by every transfer of that file). Windows follow
/// RFC 7440: up to `windowSize` blocks, then wait; an acknowledgement of an earlier block
/// of the window restarts the window after it. A duplicate acknowledgement of an older
/// block is ignored (no Sorcerer's Apprentice). Block numbers roll over after 65,535.
public struct TFTPTransfer: Sendable {
    /// What to do after an event.
    public struct Step: Sendable, Equatable {
        /// Packets other than DATA to send (an option acknowledgement, an error).
        public var send: [[UInt8]] = []
        /// DATA packets to send after them, by block (1 is the first).
        public var blocks: ClosedRange<Int>?
        /// Whether the transfer is over (complete, refused or given up).
        public var finished = false
        /// Why it ended badly, if it did.
        public var failure: String?
        /// Whether the client only wanted the file's size: it stopped at the option
        /// acknowledgement that told it `tsize`, as UEFI PXE does before the real fetch.
        public var sizeQuery = false
    }

    /// Retransmissions of one window before giving up.
    public static let maxRetries = 5

    private let negotiation: TFTPNegotiation
    /// Blocks in the file: the last one is shorter than a block (possibly empty).
    private let blockCount: Int
    /// Blocks the client has acknowledged (0 before any; 0 is also the OACK's acknowledgement).
    private var acknowledged = 0
    /// The highest block sent so far.
    private var sent = 0
    private var waitingForOptionAcknowledgement: Bool
    private var retries = 0
    /// Whether the client has acknowledged anything yet (the OACK or a block): until it
    /// has, it may be no client at all, only a forged request.
    public private(set) var acknowledgedOnce = false

    /// The size of the file sent.
    public let fileSize: Int

    /// A transfer of a file of `fileSize` bytes.
    public init(fileSize: Int, negotiation: TFTPNegotiation) {
        self.fileSize = fileSize
        self.negotiation = negotiation
        blockCount = Self.blockCount(fileSize: fileSize, blockSize: negotiation.blockSize)
        waitingForOptionAcknowledgement = !negotiation.acknowledged.isEmpty
    }

    /// The first packets: the option acknowledgement, or the first window.
    public mutating func start() -> Step {
        if waitingForOptionAcknowledgement {
            return Step(send: [TFTPPacket.optionAcknowledgement(negotiation.acknowledged).bytes])
        }
        return Step(blocks: window())
    }

    /// Handles a packet from the transfer's client.
    public mutating func receive(_ packet: TFTPPacket) -> Step {
        switch packet {
        case .acknowledgement(let wire):
            if waitingForOptionAcknowledgement {
                guard wire == 0 else { return Step() }
                waitingForOptionAcknowledgement = false
                acknowledgedOnce = true
                retries = 0
                return Step(blocks: window())
            }
            // The block acknowledged, among those sent and not yet acknowledged.
            let ahead = Int(wire &- UInt16(truncatingIfNeeded: acknowledged))
            guard ahead > 0, acknowledged + ahead <= sent else { return Step() }
            acknowledged += ahead
            acknowledgedOnce = true
            retries = 0
            if acknowledged == blockCount { return Step(finished: true) }
            // The whole window arrived: the next one. Part of it: resend from the gap.
            return Step(blocks: window())
        case .error(_, let message):
            if waitingForOptionAcknowledgement && negotiation.acknowledged.contains(where: { $0.name == "tsize" }) {
                return Step(finished: true, sizeQuery: true)
            }
            return Step(finished: true, failure: "the client aborted: \(message)")
        default:
            return Step(
                send: [TFTPPacket.error(.illegalOperation, message: "unexpected packet").bytes], finished: true,
                failure: "unexpected packet")
        }
    }

    /// The timer fired without progress: resend, or give up after ``maxRetries``.
    public mutating func timeout() -> Step {
        retries += 1
        guard retries <= Self.maxRetries else {
            return Step(finished: true, failure: "no acknowledgement after \(Self.maxRetries) retransmissions")
        }
        if waitingForOptionAcknowledgement { return start() }
        return Step(blocks: window())
    }

    /// The seconds the timer waits.
    public var timeoutSeconds: Int { negotiation.timeoutSeconds }

    /// Blocks in a file of `fileSize` bytes: the last one is shorter than a block, possibly empty.
    static func blockCount(fileSize: Int, blockSize: Int) -> Int { fileSize / blockSize + 1 }

    /// DATA blocks from the first unacknowledged one, a window's worth.
    private mutating func window() -> ClosedRange<Int> {
        let first = acknowledged + 1
        let last = min(acknowledged + negotiation.windowSize, blockCount)
        sent = max(sent, last)
        return first...last
    }
}
