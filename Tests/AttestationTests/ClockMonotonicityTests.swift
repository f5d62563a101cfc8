import Attestation
import Testing
import TSS

/// (resetCount, restartCount) never goes back; within one reset the clock only goes back
/// when the TPM said its clock was not safe.
@Suite struct ClockMonotonicityTests {
    static let last = TPMAttest.ClockInfo(clock: 5_000, resetCount: 3, restartCount: 2, safe: true)

    @Test(arguments: [
        (TPMAttest.ClockInfo(clock: 6_000, resetCount: 3, restartCount: 2, safe: true), true),
        // A restart does not turn the clock back.
        (TPMAttest.ClockInfo(clock: 10, resetCount: 3, restartCount: 3, safe: true), false),
        (TPMAttest.ClockInfo(clock: 10, resetCount: 4, restartCount: 0, safe: true), true),
        (TPMAttest.ClockInfo(clock: 6_000, resetCount: 2, restartCount: 9, safe: true), false),
        (TPMAttest.ClockInfo(clock: 6_000, resetCount: 3, restartCount: 1, safe: true), false),
        (TPMAttest.ClockInfo(clock: 4_000, resetCount: 3, restartCount: 2, safe: true), false),
        (TPMAttest.ClockInfo(clock: 4_000, resetCount: 3, restartCount: 2, safe: false), true),
    ])
    func followsOrNot(current: TPMAttest.ClockInfo, allowed: Bool) {
        #expect((ClockMonotonicity.violation(last: Self.last, current: current) == nil) == allowed)
    }

    @Test func aFirstAttestationHasNothingToFollow() {
        #expect(ClockMonotonicity.violation(last: nil, current: Self.last) == nil)
    }
}
