extension Array where Element: Comparable {
    /// The middle value once sorted (the upper middle for an even count); nil when empty.
    /// The benchmarks report it over their rounds, which a slow spell of the machine skews.
    var median: Element? { isEmpty ? nil : sorted()[count / 2] }
}
