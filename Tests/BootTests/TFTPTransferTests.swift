@testable import Boot
import Testing

/// The transfer state machine and the DATA packets it names: lockstep, windows, loss,
/// duplicates, timeouts, rollover.
@Suite struct TFTPTransferTests {
    func file(_ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) } }

    func data(_ bytes: [UInt8]) throws -> (block: UInt16, payload: [UInt8]) {
        guard case .data(let block, let payload) = try TFTPPacket.parse(ArraySlice(bytes)) else {
            throw TFTPPacketError("not DATA")
        }
        return (block, Array(payload))
    }

    /// A client that acknowledges what arrives in order, optionally dropping DATA packets
    /// the first time `drop` says so; returns the file it assembled and the packets it saw.
    func receive(_ contents: [UInt8], options: [TFTPOption], drop: (UInt16) -> Bool = { _ in false }) throws -> (
        file: [UInt8], dataPackets: Int
    ) {
        let negotiation = TFTPNegotiation(requested: options, fileSize: contents.count)
        var transfer = TFTPTransfer(fileSize: contents.count, negotiation: negotiation)
        let packets = TFTPDataPackets(file: contents, blockSize: negotiation.blockSize)
        var step = transfer.start()
        if !negotiation.acknowledged.isEmpty {
            #expect(try TFTPPacket.parse(ArraySlice(step.send[0])) == .optionAcknowledgement(negotiation.acknowledged))
            step = transfer.receive(.acknowledgement(block: 0))
        }
        var received: [UInt8] = []
        var expected: UInt16 = 1
        var dataPackets = 0
        var dropped = Set<UInt16>()
        var rounds = 0
        while !step.finished {
            rounds += 1
            guard rounds < 1_000_000 else { throw TFTPPacketError("no progress") }
            var lastInOrder: UInt16?
            #expect(step.send.isEmpty, "only DATA once the options are agreed")
            for packet in (step.blocks.map(Array.init) ?? []).map({ Array(packets.packets($0...$0).readableBytesView) })
            {
                let (block, payload) = try data(packet)
                dataPackets += 1
                if drop(block), dropped.insert(block).inserted { break }
                guard block == expected else { continue }
                received += payload
                lastInOrder = block
                expected &+= 1
                if payload.count < negotiation.blockSize { break }
            }
            step = lastInOrder.map { transfer.receive(.acknowledgement(block: $0)) } ?? transfer.timeout()
        }
        #expect(step.failure == nil)
        return (received, dataPackets)
    }

    @Test(arguments: [0, 1, 511, 512, 513, 1_024, 5_000])
    func lockstepDeliversEveryByte(size: Int) throws {
        let contents = file(size)
        let result = try receive(contents, options: [])
        #expect(result.file == contents)
        #expect(result.dataPackets == size / 512 + 1, "one DATA per block, the last one short (possibly empty)")
    }

    @Test func windowsDeliverEveryByteAndALossResumesAfterTheGap() throws {
        let contents = file(100_000)
        let options = [TFTPOption(name: "blksize", value: "1468"), TFTPOption(name: "windowsize", value: "8")]
        let clean = try receive(contents, options: options)
        #expect(clean.file == contents && clean.dataPackets == 100_000 / 1468 + 1)
        let lossy = try receive(contents, options: options) { $0 == 3 || $0 == 20 || $0 == 68 }
        #expect(lossy.file == contents)
        #expect(lossy.dataPackets > clean.dataPackets, "lost blocks were sent again")
    }

    @Test func aDuplicateAcknowledgementSendsNothing() {
        var transfer = TFTPTransfer(fileSize: 2_000, negotiation: TFTPNegotiation(requested: [], fileSize: 2_000))
        #expect(transfer.start().blocks == 1...1)
        #expect(transfer.receive(.acknowledgement(block: 1)).blocks == 2...2)
        #expect(transfer.receive(.acknowledgement(block: 1)) == TFTPTransfer.Step(), "Sorcerer's Apprentice")
        #expect(
            transfer.receive(.acknowledgement(block: 7)) == TFTPTransfer.Step(),
            "an acknowledgement of a block never sent")
    }

    @Test func stoppingAtTheSizeIsASizeQueryNotAFailure() {
        let sized = TFTPNegotiation(
            requested: [TFTPOption(name: "tsize", value: "0"), TFTPOption(name: "blksize", value: "1468")],
            fileSize: 2_000)
        var asked = TFTPTransfer(fileSize: 2_000, negotiation: sized)
        _ = asked.start()
        let query = asked.receive(.error(.optionRefused, message: "User aborted the transfer"))
        #expect(query.finished && query.sizeQuery && query.failure == nil)

        var midway = TFTPTransfer(fileSize: 2_000, negotiation: sized)
        _ = midway.start()
        _ = midway.receive(.acknowledgement(block: 0))
        let aborted = midway.receive(.error(.optionRefused, message: "User aborted the transfer"))
        #expect(aborted.finished && !aborted.sizeQuery && aborted.failure?.contains("aborted") == true)
    }

    @Test func silenceIsRetriedThenGivenUp() {
        var transfer = TFTPTransfer(fileSize: 600, negotiation: TFTPNegotiation(requested: [], fileSize: 600))
        let first = transfer.start()
        for _ in 0..<TFTPTransfer.maxRetries { #expect(transfer.timeout() == first) }
        let last = transfer.timeout()
        #expect(last.finished && last.failure != nil)
    }

    @Test(arguments: [(0, 512), (511, 512), (512, 512), (1_469, 1_468), (3_000, 8)], [true, false])
    func dataPacketsHoldEachBlockWithItsNumber(size: (Int, Int), shared: Bool) throws {
        let (size, blockSize) = size
        let contents = file(size)
        let packets = TFTPDataPackets(file: contents, blockSize: blockSize, shared: shared)
        #expect(packets.count == size / blockSize + 1)
        var joined: [UInt8] = []
        for block in 1...packets.count {
            let (number, payload) = try data(Array(packets.packets(block...block).readableBytesView))
            #expect(Int(number) == block % 65_536)
            #expect(payload.count == (block == packets.count ? size % blockSize : blockSize))
            joined += payload
        }
        #expect(joined == contents)
        let singles = (1...packets.count).flatMap { Array(packets.packets($0...$0).readableBytesView) }
        #expect(
            Array(packets.packets(1...packets.count).readableBytesView) == singles,
            "a window is its packets back to back")
    }

    @Test func blockNumbersRollOverPast65535() throws {
        let contents = file(70_000 * 8 + 3)
        let result = try receive(
            contents, options: [TFTPOption(name: "blksize", value: "8"), TFTPOption(name: "windowsize", value: "4")])
        #expect(result.file == contents)
    }
}
