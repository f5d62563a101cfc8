/// The lines that differ between two texts, as `diff` shows them: removed lines with `-`,
/// added ones with `+`, the rest with two spaces.
enum LineDifference {
    static func lines(from old: String, to new: String) -> [String] {
        let before = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let after = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let difference = after.difference(from: before)
        var removed = Set<Int>()
        var inserted = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        var result: [String] = []
        var (oldIndex, newIndex) = (0, 0)
        while oldIndex < before.count || newIndex < after.count {
            if oldIndex < before.count, removed.contains(oldIndex) {
                result.append("- " + before[oldIndex])
                oldIndex += 1
            } else if newIndex < after.count, inserted.contains(newIndex) {
                result.append("+ " + after[newIndex])
                newIndex += 1
            } else {
                result.append("  " + after[newIndex])
                oldIndex += 1
                newIndex += 1
            }
        }
        return result
    }
}
