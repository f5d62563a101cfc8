import NIOCore
import Testing

@testable import Boot

/// One source's connections come `burst` at once, then one per interval; a source's pace is
/// its own, a turn too far away is refused without being taken, and time gives turns back.
@Suite struct ConnectionPaceTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    let longest = TimeAmount.seconds(10)

    @Test func aBurstStartsAtOnceAndTheRestWaitTheirTurn() {
        var pace = ConnectionPace(perSecond: 2, burst: 4)
        let waits = (0..<7).map { _ in pace.turn(for: "10.0.0.2", now: start, longest: longest) }
        #expect(waits == [.zero, .zero, .zero, .zero, .milliseconds(500), .seconds(1), .milliseconds(1_500)])
        #expect(pace.turn(for: "10.0.0.3", now: start, longest: longest) == .zero, "another address is not held up")
    }

    @Test func aTurnTooFarAwayIsRefusedAndNotTaken() {
        var pace = ConnectionPace(perSecond: 1, burst: 1)
        #expect(pace.turn(for: "10.0.0.2", now: start, longest: .seconds(1)) == .zero)
        #expect(pace.turn(for: "10.0.0.2", now: start, longest: .seconds(1)) == .seconds(1))
        #expect(pace.turn(for: "10.0.0.2", now: start, longest: .seconds(1)) == nil)
        #expect(pace.turn(for: "10.0.0.2", now: start, longest: .seconds(1)) == nil, "a refusal took no turn")
        #expect(pace.turn(for: "10.0.0.2", now: start + .seconds(1), longest: .seconds(1)) == .seconds(1))
    }

    @Test func aQuietSourceGetsItsBurstBack() {
        var pace = ConnectionPace(perSecond: 4, burst: 8)
        for _ in 0..<20 { _ = pace.turn(for: "10.0.0.2", now: start, longest: longest) }
        #expect(pace.turn(for: "10.0.0.2", now: start, longest: longest) == .milliseconds(3_250))
        let later = start + .seconds(6)
        let waits = (0..<9).map { _ in pace.turn(for: "10.0.0.2", now: later, longest: longest) }
        #expect(waits == Array(repeating: .zero, count: 8) + [.milliseconds(250)])
    }

    /// A flood of addresses, each seen once, leaves only the ones whose time has not passed.
    @Test func sourcesWhoseTimeHasPassedAreForgotten() {
        var pace = ConnectionPace(perSecond: 1, burst: 1)
        for index in 0..<5_000 {
            let source = "10.\(index / 65_536).\(index / 256 % 256).\(index % 256)"
            #expect(pace.turn(for: source, now: start + .milliseconds(Int64(index)), longest: longest) == .zero)
        }
        // The last second's thousand are kept (forgetting them would hand them a fresh burst).
        #expect((1_000..<2_000).contains(pace.sources), "\(pace.sources)")
    }
}
