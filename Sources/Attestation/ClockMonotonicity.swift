import TSS

/// A TPM's clock must not go backwards: (resetCount, restartCount) never decreases as a
/// pair, and within one reset the clock only goes back if `safe` was cleared.
public enum ClockMonotonicity {
    /// Why `current` cannot follow `last`, or nil when it can.
    public static func violation(last: TPMAttest.ClockInfo?, current: TPMAttest.ClockInfo) -> String? {
        guard let last else { return nil }
        if (current.resetCount, current.restartCount) < (last.resetCount, last.restartCount) {
            return
                "resetCount/restartCount went back from \(last.resetCount)/\(last.restartCount) to \(current.resetCount)/\(current.restartCount)"
        }
        if current.resetCount == last.resetCount, current.clock < last.clock, current.safe {
            return "the TPM clock went back from \(last.clock) to \(current.clock) within one reset"
        }
        return nil
    }
}
