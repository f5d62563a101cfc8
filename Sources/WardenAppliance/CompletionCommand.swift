import ArgumentParser

/// `warden completion bash|zsh|fish`: the shell's completion script, which completes every
/// command and option, and the names of machines, images, policies and clusters by asking
/// the server (see `NameCompletion`).
struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion", abstract: "Print the completion script for a shell.",
        discussion: """
            bash: warden completion bash > /etc/bash_completion.d/warden (or source <(warden completion bash)); \
            zsh: warden completion zsh > "${fpath[1]}/_warden"; fish: warden completion fish > \
            ~/.config/fish/completions/warden.fish. `make install` installs all three.
            """)

    @Argument(help: "bash, zsh or fish.") var shell: Shell

    enum Shell: String, ExpressibleByArgument, CaseIterable {
        case bash, zsh, fish

        var completionShell: CompletionShell {
            switch self {
            case .bash: .bash
            case .zsh: .zsh
            case .fish: .fish
            }
        }
    }

    func run() throws {
        print(WardenCommand.completionScript(for: shell.completionShell))
    }
}
