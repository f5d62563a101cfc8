import WardenCLI

await WardenCommand.runAsRoot()
