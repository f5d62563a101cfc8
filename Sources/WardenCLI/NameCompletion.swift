import ArgumentParser
import Foundation
import Synchronization
import WardenAPI

/// Shell completion of the names the server knows: machines, images, policies, clusters.
/// The shell runs `warden` to complete; it asks the server the command line points at
/// (its --server, --identity, --state-dir and --context, else the variables and the
/// current context), and completes nothing when that cannot be reached.
package enum NameCompletion {
    case machines, images, policies, clusters

    /// A completion of this kind of name.
    package var kind: CompletionKind {
        .custom { words, _, prefix in await names(words: words).filter { $0.hasPrefix(prefix) } }
    }

    private var path: String {
        switch self {
        case .machines: "/v1/admin/machines"
        case .images: "/v1/admin/images"
        case .policies: "/v1/admin/policies"
        case .clusters: "/v1/admin/clusters"
        }
    }

    /// The names, asked of the server; none when it does not answer within three seconds
    /// (a shell waits for them).
    private func names(words: [String]) async -> [String] {
        await withCheckedContinuation { continuation in
            let first = FirstAnswer(continuation)
            Task { first.give(await asked(words: words)) }
            Task {
                try? await Task.sleep(for: .seconds(3))
                first.give([])
            }
        }
    }

    /// Resumes a continuation with the first answer given; later ones are dropped.
    private final class FirstAnswer: Sendable {
        private let continuation: Mutex<CheckedContinuation<[String], Never>?>

        init(_ continuation: CheckedContinuation<[String], Never>) { self.continuation = Mutex(continuation) }

        func give(_ names: [String]) {
            continuation.withLock { waiting in
                waiting?.resume(returning: names)
                waiting = nil
            }
        }
    }

    private func asked(words: [String]) async -> [String] {
        guard
            let target = try? AdminTarget.resolve(
                Self.connection(in: words), environment: ProcessInfo.processInfo.environment),
            let client = try? await target.connect()
        else { return [] }
        defer { Task { await client.close() } }
        guard let named = try? await client.call(.GET, path, Optional<String>.none, as: [Named].self) else { return [] }
        return named.map(\.name).sorted()
    }

    /// Just the connection options among the words typed so far.
    private static func connection(in words: [String]) -> AdminOptions {
        let wanted: Set<String> = ["--server", "--warden-url", "--identity", "--state-dir", "--context"]
        var kept: [String] = []
        for (index, word) in words.enumerated() where wanted.contains(word) && index + 1 < words.count {
            kept += [word, words[index + 1]]
        }
        return (try? AdminOptions.parse(kept)) ?? AdminOptions()
    }

    /// Any listed value with a name.
    private struct Named: Decodable {
        let name: String
    }
}

extension CompletionKind {
    /// Machine roles in a cluster.
    static var roles: CompletionKind { .list(MachineRole.allCases.map(\.rawValue)) }
}
