import WardenCLI

WardenCommand.main()
